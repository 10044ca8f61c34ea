// Type declarations of the lakelink package (CommonJS and ESM entry points).

import { EventEmitter } from 'node:events'
import type { Readable, Writable } from 'node:stream'
import type { ConnectionOptions as TLSConnectionOptions } from 'node:tls'

/** Connection-string properties by name or alias (any case); null removes one. */
export type Properties = Record<string, string | number | boolean | null | undefined>

/** A connection string, or {connectionString, ...properties}. */
export type ConnectionOptions = string | ({ connectionString?: string } & Properties)

/** What a query row value can be (TYPES.md, the Node column). */
export type Value =
  | null | boolean | number | bigint | string | Date | Buffer | Interval
  | JsonValue | Value[]

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** A parameter value: null/undefined, string, boolean, number, bigint, Date, Buffer/Uint8Array, Array, a plain object (JSON). */
export type Param =
  | null | undefined | string | boolean | number | bigint | Date | Uint8Array | ArrayBuffer
  | Param[] | { [key: string]: unknown }

/** PostgreSQL's interval: three independent fields. */
export interface Interval {
  months: number
  days: number
  microseconds: number
}

export interface FieldDef {
  name: string
  /** The type's OID. */
  dataTypeID: number
  /** The type's name as pgx knows it ('int4', '_text'), or ''. */
  typeName: string
}

/** node-postgres's result shape. */
export interface QueryResult<R = any> {
  /** The command tag's verb: 'SELECT', 'INSERT', 'CREATE'... */
  command: string | null
  /** Rows returned or affected; null for a command without a count. */
  rowCount: number | null
  rows: R[]
  fields: FieldDef[]
}

export interface QueryConfig {
  text: string
  values?: Param[]
  /** 'array': each row is an array of values instead of an object. */
  rowMode?: 'array'
  /** int8 values as bigint (the default) or as decimal strings. */
  int8?: 'bigint' | 'string'
  /**
   * Aborting it cancels the statement on the server (lakelink_cancel): the
   * query rejects with an error named 'AbortError' whose code is '57014'
   * (its cause the signal's reason), or with the signal's reason while it
   * still waits for a session. The connection stays usable.
   */
  signal?: AbortSignal
}

export interface StreamOptions {
  /** Rows per batch read from the library (default 1000). */
  batchSize?: number
  rowMode?: 'array'
  int8?: 'bigint' | 'string'
  /**
   * Aborting it ends waiting for a session, or cancels the statement on the
   * server: the loop throws an error named 'AbortError' (code '57014' when
   * the server cancelled the statement, else the signal's reason).
   */
  signal?: AbortSignal
}

export interface ConnectOptions {
  /** int8 values as bigint (the default) or as decimal strings. */
  int8?: 'bigint' | 'string'
}

/** Statements on one held session, run one at a time in the order they are called. */
export interface Statements {
  query<R = any>(text: string, values?: Param[]): Promise<QueryResult<R>>
  /** values beside a config are its values, as in node-postgres (its other fields, such as name and types, are not read). */
  query<R = any>(config: QueryConfig & { rowMode?: undefined }, values?: Param[]): Promise<QueryResult<R>>
  query(config: QueryConfig & { rowMode: 'array' }, values?: Param[]): Promise<QueryResult<Value[]>>
  /** Streams rows in batches; the session's other statements wait until the loop ends. */
  stream<R = any>(text: string | QueryConfig, values?: Param[], options?: StreamOptions): AsyncIterableIterator<R>
}

/**
 * COPY ... FROM STDIN as a Writable (pg-copy-streams' copyFrom stream):
 * write or pipe Buffers or strings in the COPY's format into it; 'finish'
 * comes once the server took them all, rowCount then set. destroy(err), or
 * an error, aborts the COPY (the server rolls it back).
 */
export interface CopyFromStream extends Writable {
  /** The rows copied, once finished (null before). */
  readonly rowCount: number | null
}

/**
 * COPY ... TO STDOUT as a Readable of Buffers (pg-copy-streams' copyTo
 * stream), each whole rows in the COPY's format; 'end' comes after the
 * last, rowCount then set. destroy() before the end drops the rest.
 */
export interface CopyToStream extends Readable {
  /** The rows copied, once ended (null before). */
  readonly rowCount: number | null
}

/** Statements on one session held by this object (a Client, a PoolClient, a transaction), COPY included. */
export interface SessionStatements extends Statements {
  /** COPY ... FROM STDIN on this session: its other statements wait until the COPY ends. */
  copyFrom(sql: string): CopyFromStream
  /** COPY ... TO STDOUT on this session: its other statements wait until the COPY ends. */
  copyTo(sql: string): CopyToStream
}

/** The statements of a transaction, on its one session (Pool.transaction's tx; made by lakelink only). */
export interface Transaction extends SessionStatements {}
export declare class Transaction {
  private constructor ()
}

/** A pool's session, until release() (node-postgres's PoolClient). */
export interface PoolClient extends SessionStatements {
  /**
   * Gives the session back to the pool once the statements called before
   * have run; release(err) or release(true) closes it instead (the pool
   * does not hand it out again). Called once.
   */
  release(err?: Error | boolean): void
}

/** node-postgres's pool options, each setting a connection-string property over the string's own. */
export interface PoolOptions {
  /** MaxConnections: sessions of the pool's own identity (default 10). */
  max?: number
  /** MinConnections: sessions kept open (default 0). */
  min?: number
  /** MaxIdleTime: a session idle that long is closed (default 10 minutes). */
  idleTimeoutMillis?: number
  /** MaxLifetime: a session that old is replaced when idle, never mid-query (default 1 hour, with jitter). */
  maxLifetimeSeconds?: number
  /** PoolTimeout: how long a query or connect() waits for a free session (default 30 s). */
  connectionTimeoutMillis?: number
  /** MaxUsers: App users whose sessions are kept for asUser, least recently used first out (default 50). */
  maxUsers?: number
  /** int8 values as bigint (the default) or as decimal strings. */
  int8?: 'bigint' | 'string'
}

/** A pool's sessions for one App user (pool.asUser), logged in as that user. */
export interface UserPool extends Statements {
  /** As Pool.transaction, on a session of this user's. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
  /** A session of this user's, until release(). */
  connect(): Promise<PoolClient>
}

/**
 * What userToken and asUser read the token from: a node:http
 * IncomingMessage or Express req (lower-case header keys, an array for a
 * repeated header), a WHATWG Request, Headers, or a plain headers object.
 */
export type RequestLike =
  | { headers: Headers | Record<string, string | string[] | undefined> }
  | Headers
  | Record<string, string | string[] | undefined>

/**
 * A pool of Lakebase sessions kept by the core (node-postgres's Pool). An
 * EventEmitter, as node-postgres's: 'acquire' (client) when connect()
 * hands out a client, 'release' (err, client) when it is given back,
 * 'remove' (client) when release(err) ends its session. query,
 * transaction and stream show no client and emit nothing; the core's own
 * opening and closing of sessions is not seen ('connect' is never
 * emitted), and no error happens outside a call ('error' is never emitted).
 */
export declare class Pool extends EventEmitter implements AsyncDisposable {
  /**
   * A pool that logs in at its first use, as node-postgres's: a failure is
   * that call's error. Bad options throw a TypeError or RangeError naming
   * the option.
   */
  constructor (connectionString?: string | null, options?: PoolOptions)
  constructor (config: { connectionString?: string } & PoolOptions)
  /** Sessions of the pool's own identity open (idle or in use). */
  readonly totalCount: number
  /** Sessions open and idle. */
  readonly idleCount: number
  /** Queries and connect() calls waiting for a session. */
  readonly waitingCount: number
  query<R = any>(text: string, values?: Param[]): Promise<QueryResult<R>>
  /** values beside a config are its values, as in node-postgres (its other fields, such as name and types, are not read). */
  query<R = any>(config: QueryConfig & { rowMode?: undefined }, values?: Param[]): Promise<QueryResult<R>>
  query(config: QueryConfig & { rowMode: 'array' }, values?: Param[]): Promise<QueryResult<Value[]>>
  /**
   * Runs fn in a transaction: commit when it resolves, rollback (and rethrow)
   * when it rejects; a tx.stream() left open is closed first.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
  /** Streams rows in batches, holding one session until the loop ends. */
  stream<R = any>(text: string | QueryConfig, values?: Param[], options?: StreamOptions): AsyncIterableIterator<R>
  /** A session for statements that belong together, until release(). */
  connect(): Promise<PoolClient>
  /**
   * The sessions of the App user whose access token this is, or whose
   * request carries it (X-Forwarded-Access-Token), so that grants and
   * row-level security apply. No I/O: the token is checked at the first
   * query. Throws an AuthError for a request without one.
   */
  asUser(tokenOrRequest: string | RequestLike): UserPool
  on(event: 'acquire' | 'remove', listener: (client: PoolClient) => void): this
  on(event: 'release', listener: (err: Error | boolean | undefined, client: PoolClient) => void): this
  on(event: 'connect' | 'error', listener: (...args: any[]) => void): this
  /** Refuses new queries, rejects those waiting, resolves once every session is given back and the pool closed. */
  end(): Promise<void>
  /** end(), the name connect()'s Connection had. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** What connect() resolved with before Pool: the same class now. */
export declare const Connection: typeof Pool
export type Connection = Pool

/**
 * A Pool whose first login is done, so that a wrong host, user or
 * credential is reported here; overrides are connection-string properties.
 */
export declare function connect (connectionString?: string | null, overrides?: Properties, options?: ConnectOptions): Promise<Pool>

/** One Lakebase session of its own (node-postgres's Client): connect() opens it, end() ends it on the server. */
export interface Client extends SessionStatements {}
export declare class Client implements AsyncDisposable {
  constructor (connectionString?: string | null, options?: ConnectOptions)
  constructor (config: { connectionString?: string } & ConnectOptions)
  /** Opens the session; a Client connects once. */
  connect(): Promise<void>
  /** Ends the session on the server once the statements called before have run. */
  end(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * The App user's access token in the request's X-Forwarded-Access-Token
 * header, as sent. Throws an AuthError, never showing the value, when
 * there is none (user authorization is off) or two header lines, an
 * InterfaceError when it is over 64 KiB. The core checks that it is one
 * bearer token where it is used (asUser's first query or call).
 */
export declare function userToken (req: RequestLike): string

/** An access token (a secret: inspect, String and JSON never show it). */
export declare class Token {
  private constructor ()
  readonly accessToken: string
  /** Its expiry, or null when unknown. */
  readonly expiresAt: Date | null
}

/** An access token for a connection (the core's default chain, e.g. DATABRICKS_* inside an App, without one). */
export declare function token (options?: ConnectionOptions): Promise<Token>

/**
 * The Lakebase login for your own Postgres driver. password is a secret
 * (inspect shows '***'), minted by the core and reused until it nears
 * expiry: ask again before each new login (pgConfig's password function does).
 */
export interface LakebaseCredential {
  host: string
  port: number
  database: string
  user: string
  password: string
  /** libpq's sslmode: disable, allow, prefer, require, verify-ca or verify-full. */
  sslmode: string
  /** libpq's sslrootcert: a CA file, 'system', or '' (SSLServerCert given as PEM text in the WASI build: see sslrootcert_pem). */
  sslrootcert: string
  /** SSLServerCert's PEM text when it was given as text, or ''. */
  sslrootcert_pem: string
  application_name: string
  /** When password expires, or null when unknown (a Password given). */
  expires_at: Date | null
}

/** The Lakebase login for a connection with Server and Instance or Endpoint (lakelink_lakebase_credential). */
export declare function lakebaseCredential (connection: ConnectionOptions): Promise<LakebaseCredential>

/**
 * TLS options for tls.connect, as node-postgres's and Postgres.js's ssl:
 * false for SSLMode=disable; rejectUnauthorized false for allow, prefer and
 * require; for verify-ca and verify-full the CA (SSLServerCert) in a
 * secureContext, made once for every session.
 */
export type LakebaseSSL = false | TLSConnectionOptions

/** A node-postgres ClientConfig and PoolConfig (pg.Client, pg.Pool, @prisma/adapter-pg, Knex's connection...). */
export interface PgConfig {
  host: string
  port: number
  database: string
  user: string
  /** The current credential: kept until it nears expiry, then renewed once for every session asking. */
  password: () => Promise<string>
  ssl: LakebaseSSL
  /** ApplicationName, when given. */
  application_name?: string
}

/** Postgres.js's options: postgres({ ...await postgresConfig(cs), max: 10 }). */
export interface PostgresConfig {
  host: string
  port: number
  database: string
  username: string
  /** As PgConfig's. */
  password: () => Promise<string>
  ssl: LakebaseSSL
  /** application_name, when ApplicationName is given. */
  connection?: { application_name: string }
}

/**
 * node-postgres's config for a Lakebase connection: `new pg.Pool(await
 * pgConfig(cs))`. It logs in now (a wrong connection string or identity
 * fails here); overrides are connection-string properties over the string's own.
 */
export declare function pgConfig (connection: ConnectionOptions, overrides?: Properties): Promise<PgConfig>

/** Postgres.js's options for a Lakebase connection: `postgres(await postgresConfig(cs))`; as pgConfig. */
export declare function postgresConfig (connection: ConnectionOptions, overrides?: Properties): Promise<PostgresConfig>

/** A Databricks App's /api/ routes, called with a bearer token. */
export declare class App {
  constructor (url: string, options?: ConnectionOptions)
  /** The app's base URL, as given (the core checks it on each request). */
  readonly url: string
  /**
   * Global fetch with the app's bearer token: resolves with fetch's own
   * Response (streaming body; init.signal aborts) when the status is 2xx.
   * The core resolves path against the app's URL (RFC 3986: a path with
   * its query, or an absolute URL of the app) and names the URL sent to.
   * Redirects are never followed (redirect: 'manual'). Rejects with
   * AppError for any other status, a network failure, or a URL of another
   * scheme, host or port (kind other_host) or outside the app's /api/
   * routes (not_api_path), refused before sending; with InterfaceError for
   * an app URL or path that is not one.
   */
  fetch (path: string, init?: RequestInit): Promise<Response>
  /** The token this App sends. */
  token (): Promise<Token>
  /** This app called as the App user whose token this is, or whose request carries it (AuthScheme=Token). */
  asUser (tokenOrRequest: string | RequestLike): App
}

export interface AuthorizationUrl {
  URL: string
  State: string
  /** A secret: keep it until the exchange. */
  PKCEVerifier: string
}

export interface OAuthTokens {
  OAuthAccessToken: string
  OAuthRefreshToken: string
  ExpiresIn: number | string
  Scope: string
}

/** GetOAuthAuthorizationUrl (the CData procedure). */
export declare function getOAuthAuthorizationUrl (connection: ConnectionOptions,
  inputs?: { callbackUrl?: string, scope?: string, state?: string }): Promise<AuthorizationUrl>
/** GetOAuthAccessToken: authMode 'WEB' (default) exchanges verifier (the code, or the whole callback URL: its state must be state when given, its error= is thrown); 'APP' runs the browser flow. */
export declare function getOAuthAccessToken (connection: ConnectionOptions,
  inputs?: { verifier?: string, authMode?: 'WEB' | 'APP', callbackUrl?: string, state?: string, pkceVerifier?: string }): Promise<OAuthTokens>
/** RefreshOAuthAccessToken: keep the new refresh token, the old one is spent. */
export declare function refreshOAuthAccessToken (connection: ConnectionOptions, inputs?: { refreshToken?: string }): Promise<OAuthTokens>

/** The base class of lakelink's errors: code is the SQLSTATE, or a LAKELINK_* code. */
export declare class LakelinkError extends Error {
  code: string
  /** The server's SQLSTATE, when it answered. */
  sqlstate?: string
}
export declare class InterfaceError extends LakelinkError {}
export declare class ConnectionStringError extends LakelinkError {}
export declare class AuthError extends LakelinkError {}
export declare class DatabaseError extends LakelinkError {
  /** The server's DETAIL ('Key (id)=(1) already exists.'), as node-postgres has it. */
  detail?: string
  /** The server's HINT. */
  hint?: string
}
export declare class InternalError extends LakelinkError {}
export declare class AppError extends LakelinkError {
  /** The HTTP status, 0 when there was no answer. */
  status: number
  kind: 'unauthorized' | 'forbidden' | 'not_found' | 'login_redirect' | 'network' | 'not_api_path' | 'other_host' | 'too_large' | 'http' | string
  /** Why, and what to check (the core's words). */
  diagnosis: string
  /**
   * The app's answer, when there was one (its body unread). Not shown by
   * util.inspect or JSON.stringify: its headers may carry the app's cookies.
   */
  response?: Response
  /** For a network failure (status 0): fetch's own error. */
  cause?: unknown
}

/** The native library's version. */
export declare function libraryVersion (): string
/** The path of the loaded liblakelink.so. */
export declare function libraryPath (): string
/** A connection string as the core reads it, secrets shown as '***'. */
export declare function normalizeConnectionString (connectionString: string): string

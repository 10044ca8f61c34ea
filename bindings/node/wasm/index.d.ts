// require('lakelink/wasm'): lakelink's core as a WASI module on a worker
// thread, no native library. Every call is asynchronous.
import type { ConnectionOptions, Properties, Token, AuthorizationUrl, OAuthTokens, LakebaseCredential, PgConfig, PostgresConfig } from '..'
export type { AuthorizationUrl, OAuthTokens, LakebaseCredential, PgConfig, PostgresConfig, LakebaseSSL } from '..'
export { Token, LakelinkError, InterfaceError, ConnectionStringError, AuthError, DatabaseError, InternalError, AppError } from '..'

/** An error as lakelink_call answers it: the fields of the C library's lakelink_error. */
export interface ModuleError {
  code: number
  message: string
  sqlstate: string
  diagnosis: string
  http_status: number
  kind: string
  /** The server's DETAIL of a database error, or ''. */
  detail: string
  /** The server's HINT of a database error, or ''. */
  hint: string
}

/** One instance of lakelink.wasm on a worker thread, with its own token cache; calls run one at a time. */
export declare class Module {
  /** file: the module (default: $LAKELINK_WASM, the package's copy, or the checkout's build/out); env: its environment. */
  constructor (options?: { file?: string, env?: Record<string, string> })
  /** lakelink_call: the response as the module gives it (wasm/README.md). */
  raw (request: { op: string, [field: string]: unknown }): Promise<{ result?: any, error?: ModuleError }>
  /** lakelink_call: the result, or the module's error as a LakelinkError. */
  call (request: { op: string, [field: string]: unknown }): Promise<any>
  /** Whether the worker has stopped (close(), or a trap or exit of the module): every call then rejects with an InterfaceError. */
  readonly stopped: boolean
  /** Stops the worker; waiting and later calls reject. */
  close (): Promise<void>
}

/** An access token for a connection, cached by the module until near expiry. */
export declare function token (options?: ConnectionOptions): Promise<Token>

/** A Databricks App's /api/ routes, called with a bearer token through the module. */
export declare class App {
  constructor (url: string, options?: ConnectionOptions)
  /** The app's base URL, as given (the core checks it on each request). */
  readonly url: string
  /**
   * As global fetch (no signal); rejects with AppError, with the core's diagnosis, unless the status is 2xx.
   * The token goes to the app's own /api/ routes only: an absolute URL of another host is refused (kind other_host).
   */
  fetch (path: string, init?: RequestInit): Promise<Response>
  /** The token this App sends. */
  token (): Promise<Token>
}

export declare function getOAuthAuthorizationUrl (connection: ConnectionOptions,
  inputs?: { callbackUrl?: string, scope?: string, state?: string }): Promise<AuthorizationUrl>
/** authMode 'WEB' only: 'APP' needs a browser and a listener, which a module has not. */
export declare function getOAuthAccessToken (connection: ConnectionOptions,
  inputs?: { verifier?: string, authMode?: 'WEB', callbackUrl?: string, state?: string, pkceVerifier?: string }): Promise<OAuthTokens>
export declare function refreshOAuthAccessToken (connection: ConnectionOptions, inputs?: { refreshToken?: string }): Promise<OAuthTokens>

/** What lakebaseCredential resolved with before it had expires_at: LakebaseCredential. */
export type LakebaseLogin = LakebaseCredential
/** The Lakebase login for a connection with Server and Instance or Endpoint, as require('lakelink')'s. */
export declare function lakebaseCredential (connection: ConnectionOptions): Promise<LakebaseCredential>
/** node-postgres's config for a Lakebase connection, as require('lakelink')'s: `new pg.Pool(await pgConfig(cs))`. */
export declare function pgConfig (connection: ConnectionOptions, overrides?: Properties): Promise<PgConfig>
/** Postgres.js's options for a Lakebase connection, as require('lakelink')'s: `postgres(await postgresConfig(cs))`. */
export declare function postgresConfig (connection: ConnectionOptions, overrides?: Properties): Promise<PostgresConfig>

/** The connection string as the core reads it, every secret shown as '***'. */
export declare function normalizeConnectionString (connection: ConnectionOptions): Promise<string>

/** Stops the worker the functions above share; a later call starts a new one. */
export declare function close (): Promise<void>

'use strict'
// lakelink for Node without a native library: the core as a WASI module
// (lakelink.wasm), run on a worker thread.
//
//   const { token, App, lakebaseCredential } = require('lakelink/wasm')
//
// The module's HTTP goes through its lakelink.http import, which the
// worker serves synchronously by asking this thread, whose fetch sends the
// request (see worker.js). Every rule (the token cache, the OAuth flows,
// where a token may go, the diagnosis of a failed App call, credential
// minting) is the core's: this file only marshals.

const fs = require('node:fs')
const path = require('node:path')
const { Worker, MessageChannel } = require('node:worker_threads')
const { AppBase, networkText } = require('../lib/appbase')
const errors = require('../lib/errors')
const { fromOptions } = require('../lib/options')
const { Token, Result } = require('../lib/secrets')
const { credentialOf, configsFor } = require('../lib/pgconfig')

const FILE = 'lakelink.wasm'
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** The module's path: $LAKELINK_WASM, next to this package's index.js (npm pack puts it there), or the checkout's build/out. */
function modulePath () {
  const env = process.env.LAKELINK_WASM
  const tried = env ? [path.resolve(env)] : [path.resolve(__dirname, '..', FILE), path.resolve(__dirname, '..', '..', '..', 'build', 'out', FILE)]
  const found = tried.find((p) => fs.existsSync(p))
  if (!found) {
    throw new errors.InterfaceError(`lakelink: ${FILE} not found (tried ${tried.join(', ')}); set LAKELINK_WASM to its path, or run \`make build\` in the lakelink checkout`)
  }
  return found
}

/** Serves one lakelink.http request (wasm/README.md) with fetch: JSON in, JSON out, never throwing. */
async function serveHTTP (json) {
  let req
  try {
    req = JSON.parse(json)
    const headers = new Headers()
    for (const [name, values] of Object.entries(req.headers || {})) for (const v of values) headers.append(name, v)
    const body = req.body ? Buffer.from(req.body, 'base64') : undefined
    const resp = await fetch(req.url, {
      method: req.method,
      headers,
      body: body && body.length ? body : undefined,
      redirect: 'manual', // the core decides about redirects: a sign-in redirect is diagnosed, never followed
      signal: req.timeout_ms ? AbortSignal.timeout(req.timeout_ms) : undefined
    })
    // fetch decodes a compressed body: its Content-Encoding and Content-Length no longer apply.
    const decoded = resp.headers.has('content-encoding')
    const out = {}
    resp.headers.forEach((value, name) => {
      if (name !== 'set-cookie' && !(decoded && (name === 'content-encoding' || name === 'content-length'))) out[name] = [value]
    })
    const cookies = resp.headers.getSetCookie()
    if (cookies.length) out['set-cookie'] = cookies
    const content = Buffer.from(await resp.arrayBuffer())
    return JSON.stringify({ status: resp.status, headers: out, body: content.toString('base64') })
  } catch (e) {
    return JSON.stringify({ error: errorText(e, req?.timeout_ms) })
  }
}

/** The import's error text (wasm/README.md): "CODE: text", ETIMEDOUT when timeout_ms passed. */
function errorText (e, timeoutMS) {
  if (e?.name === 'TimeoutError') return `ETIMEDOUT: no answer within ${timeoutMS} ms (timeout_ms)`
  return networkText(e)
}

/**
 * One instance of lakelink.wasm on a worker thread: its own token cache
 * and token stores (memory://). Calls are queued: the module runs one at a
 * time. options.env is the module's environment (for AuthScheme=Databricks:
 * DATABRICKS_HOST, DATABRICKS_CLIENT_ID, ...); by default none.
 */
class Module {
  #worker
  #reply
  #flag
  #pending = new Map()
  #next = 1
  #stopped = null // why the worker stopped (an InterfaceError), once it has

  constructor ({ file = modulePath(), env = {} } = {}) {
    const signal = new SharedArrayBuffer(4)
    this.#flag = new Int32Array(signal)
    const { port1, port2 } = new MessageChannel()
    this.#reply = port1
    this.#worker = new Worker(path.join(__dirname, 'worker.js'), {
      workerData: { file, env, httpPort: port2, signal },
      transferList: [port2]
    })
    this.#worker.unref()
    this.#worker.on('message', (m) => {
      if (m.failed) this.#stop(new errors.InterfaceError(m.failed))
      else if (m.http !== undefined) this.#answer(m.http)
      else this.#settle(m)
    })
    this.#worker.on('error', (e) => this.#stop(new errors.InterfaceError(`lakelink: the wasm worker failed: ${e.message}`)))
    this.#worker.on('exit', (code) => this.#stop(new errors.InterfaceError(`lakelink: the wasm worker exited (${code})`)))
  }

  /** Records why the worker stopped (the first cause) and rejects every call waiting, and every later one, with it. */
  #stop (cause) {
    this.#stopped ??= cause
    for (const { reject } of this.#pending.values()) reject(this.#stopped)
    this.#pending.clear()
    if (this === shared) shared = null // the functions below start a new one
  }

  /** Whether the worker has stopped: every call now fails. */
  get stopped () {
    return this.#stopped !== null
  }

  async #answer (json) {
    const response = await serveHTTP(json)
    this.#reply.postMessage(response)
    Atomics.store(this.#flag, 0, 1)
    Atomics.notify(this.#flag, 0)
  }

  #settle ({ id, response }) {
    const p = this.#pending.get(id)
    this.#pending.delete(id)
    if (this.#pending.size === 0) this.#worker.unref()
    p.resolve(JSON.parse(response))
  }

  /** Sends one request to lakelink_call; resolves with {result, error} as the module answers. */
  raw (request) {
    if (this.#stopped) return Promise.reject(this.#stopped)
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.ref()
      // Posted at once: the worker reads it once the module is instantiated; a start that fails rejects it.
      this.#worker.postMessage({ id, request: JSON.stringify(request) })
    })
  }

  /** lakelink_call: the result, or the module's error as a lakelink error (the classes of require('lakelink')). */
  async call (request) {
    const { result, error } = await this.raw(request)
    if (error) throw toError(error, result)
    return result
  }

  /** Stops the worker; calls waiting and later ones reject with an InterfaceError. */
  async close () {
    this.#stop(new errors.InterfaceError('lakelink: the wasm module was closed'))
    await this.#worker.terminate()
  }
}

/** The lakelink error for the module's error JSON (the fields of lakelink_error). */
function toError (e, result) {
  const err = errors.fromNative(e.code, e.message, e.sqlstate, e.diagnosis, e.http_status, e.kind, e.detail, e.hint)
  if (err instanceof errors.AppError && result && result.status) err.response = responseOf(result)
  return err
}

/** A standard Response from the module's {status, headers, body}. */
function responseOf ({ status, headers, body }) {
  const h = new Headers()
  for (const [name, values] of Object.entries(headers || {})) for (const v of values) h.append(name, v)
  return new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.from(body || '', 'base64'), { status, headers: h })
}

let shared = null

/** The module instance the functions below use, started on first use and again after it stopped. */
function defaultModule () {
  if (!shared) shared = new Module()
  return shared
}

/** Stops the worker of the module the functions use; a later call starts a new one (with an empty cache). */
async function close () {
  const m = shared
  shared = null
  if (m) await m.close()
}

/** A connection string from a string, or {connectionString, ...properties} merged by the core. */
async function connectionString (given) {
  return fromOptions(given, (conn, overrides) => overrides ? defaultModule().call({ op: 'merge', conn, overrides }) : conn)
}

/** An access token for a connection string or {connectionString, ...properties}, cached by the module until near expiry. */
async function token (options) {
  const conn = await connectionString(options)
  const r = await defaultModule().call({ op: 'token', conn })
  return new Token(r.access_token, r.expires_at ? new Date(r.expires_at) : null) // RFC 3339, null when unknown
}

/**
 * A Databricks App's /api/ routes, called with a bearer token through the
 * core, as require('lakelink').App: fetch resolves with a standard Response
 * for a 2xx status and rejects with an AppError (with the core's diagnosis)
 * otherwise.
 */
class App extends AppBase {
  #options

  constructor (url, options) {
    super(url)
    this.#options = options
  }

  /**
   * Sends a request to path (resolved by the core against the app's URL as
   * RFC 3986 resolves a reference: a path with its query, or an absolute
   * URL of the app) with init as for global fetch (method, headers, body).
   * The core sends the token to the app's own /api/ routes only: another
   * host rejects with an AppError of kind other_host, a path outside /api/
   * with not_api_path, before anything is sent.
   */
  async fetch (path, init) {
    const ref = String(path)
    const req = new Request('http://lakelink.invalid/', init) // reads init's method, headers and body as fetch would; the URL is not used
    const body = req.body ? Buffer.from(await req.arrayBuffer()).toString('base64') : undefined
    const headers = {}
    req.headers.forEach((value, name) => { headers[name] = value })
    const conn = await connectionString(this.#options)
    const result = await defaultModule().call({ op: 'app_request', conn, app_url: this.url, method: req.method, url: ref, headers, body })
    const r = responseOf(result)
    Object.defineProperty(r, 'url', { value: result.url, enumerable: true })
    return r
  }

  /** The access token this App sends. */
  token () {
    return token(this.#options)
  }
}

async function procedure (op, connection, args) {
  const conn = await connectionString(connection)
  return new Result(await defaultModule().call({ op, conn, ...args }))
}

/** GetOAuthAuthorizationUrl: {URL, State, PKCEVerifier}; keep PKCEVerifier, a secret, until the exchange. */
function getOAuthAuthorizationUrl (connection, { callbackUrl, scope, state } = {}) {
  return procedure('oauth_authorization_url', connection, { callback_url: callbackUrl, scope, state })
}

/** GetOAuthAccessToken: {OAuthAccessToken, OAuthRefreshToken, ExpiresIn, Scope} for the verifier (the code, or the whole callback URL) of a WEB flow. */
function getOAuthAccessToken (connection, { verifier, authMode = 'WEB', callbackUrl, state, pkceVerifier } = {}) {
  return procedure('oauth_access_token', connection, { verifier, auth_mode: authMode, callback_url: callbackUrl, state, pkce_verifier: pkceVerifier })
}

/** RefreshOAuthAccessToken: new tokens for refreshToken (or the connection's OAuthRefreshToken); keep the new refresh token. */
function refreshOAuthAccessToken (connection, { refreshToken } = {}) {
  return procedure('oauth_refresh', connection, { refresh_token: refreshToken })
}

/**
 * The Lakebase login for a connection string with Server and Instance or
 * Endpoint: {host, port, database, user, password, sslmode, sslrootcert,
 * sslrootcert_pem, application_name, expires_at}, the password a
 * credential the module mints and reuses until it nears expiry
 * (expires_at: a Date, or null when unknown), as require('lakelink')'s.
 * pgConfig and postgresConfig give it to node-postgres and Postgres.js.
 */
async function lakebaseCredential (connection) {
  const conn = await connectionString(connection)
  return credentialOf(await defaultModule().call({ op: 'lakebase_credential', conn }))
}

const { pgConfig, postgresConfig } = configsFor(lakebaseCredential)

/** The connection string as the core reads it, every secret shown as '***'. */
async function normalizeConnectionString (connection) {
  const conn = await connectionString(connection)
  return (await defaultModule().call({ op: 'normalize', conn })).normalized
}

module.exports = {
  Module,
  App,
  Token,
  token,
  getOAuthAuthorizationUrl,
  getOAuthAccessToken,
  refreshOAuthAccessToken,
  lakebaseCredential,
  pgConfig,
  postgresConfig,
  normalizeConnectionString,
  close,
  ...errors.classes
}

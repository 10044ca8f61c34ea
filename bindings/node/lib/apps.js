'use strict'
// Databricks Apps: App.fetch and token(), with the token the core gets,
// caches and renews.
//
// App.fetch sends through the core (lakelink_app_request, on a worker
// thread) rather than global fetch, so that the rules stay in one place:
// the token goes only to the app's /api/ routes, and a failure is
// diagnosed by the core (expired token, missing CAN USE or scope, wrong
// URL, sign-in redirect, proxy) from everything it knows about the token
// it sent. The answer is a standard WHATWG Response.

const util = require('node:util')
const { lib, callAsync, check, takeString, takeBytes, cstr } = require('./native')
const connstr = require('./connstr')
const { AppError } = require('./errors')
const { Token } = require('./secrets')

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

async function tokenFor (connStr) {
  const out = [null]
  const expires = [0]
  const err = [null]
  check(await callAsync(lib().token, cstr(connStr, 'the connection string'), out, expires, err), err)
  const exp = Number(expires[0])
  return new Token(takeString(out[0]), exp ? new Date(exp * 1000) : null)
}

/**
 * An access token for a connection string or {connectionString,
 * ...properties} (renewed ahead of expiry, shared per identity). With
 * nothing, the core's default chain applies: inside a Databricks App, the
 * injected DATABRICKS_* service principal.
 */
function token (options) {
  let connStr
  try {
    connStr = connstr.fromOptions(options)
  } catch (e) {
    return Promise.reject(e)
  }
  return tokenFor(connStr)
}

/** The headers of a Request as the JSON object lakelink_app_request takes. */
function headersJSON (headers) {
  const out = {}
  let any = false
  for (const [name, value] of headers) {
    out[name] = value
    any = true
  }
  return any ? JSON.stringify(out) : null
}

/** A Response from the core's status, headers JSON ({name: [values]}) and body. */
function responseOf (status, headersJson, body, url) {
  const headers = new Headers()
  for (const [name, values] of Object.entries(headersJson ? JSON.parse(headersJson) : {})) {
    for (const v of values) headers.append(name, v)
  }
  const r = new Response(NULL_BODY_STATUSES.has(status) ? null : body, { status, headers })
  Object.defineProperty(r, 'url', { value: url, enumerable: true })
  return r
}

function abortError (signal) {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

/**
 * A Databricks App's /api/ routes, called with a bearer token:
 *
 *   const app = new App('https://my-app-123.databricksapps.com', {connectionString: 'Host=...;OAuthClientId=...;OAuthClientSecret=...'})
 *   const r = await app.fetch('/api/whoami')   // a standard Response
 *
 * The second argument is {connectionString, ...properties} (properties by
 * their connection-string names, e.g. {Host, OAuthClientId,
 * OAuthClientSecret}), or a connection string; inside a Databricks App
 * nothing is needed. A status other than 2xx, a network failure or a path
 * outside /api/ rejects with an AppError carrying the core's diagnosis.
 */
class App {
  #connStr

  constructor (url, options) {
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) {
      throw new TypeError(`lakelink: App needs the app's URL (https://...), not ${util.inspect(url)}`)
    }
    /** The app's base URL, without a trailing slash. */
    this.url = url.replace(/\/+$/, '')
    this.#connStr = connstr.fromOptions(options)
  }

  /** An absolute URL for path (relative to the app's URL, or absolute). */
  resolve (path) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path
    return this.url + (path.startsWith('/') ? '' : '/') + path
  }

  /**
   * Sends a request to path (relative to the app's URL) with init as for
   * global fetch (method, headers, body of any kind fetch takes, signal),
   * and resolves with the app's Response when its status is 2xx.
   */
  async fetch (path, init) {
    const url = this.resolve(String(path))
    const req = new Request(url, init)
    const signal = init?.signal
    if (signal?.aborted) throw abortError(signal)
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : null
    const status = [0]
    const headers = [null]
    const bodyOut = [null]
    const bodyLen = [0]
    const err = [null]
    const call = callAsync(lib().app_request, cstr(this.#connStr, 'the connection string'), req.method, cstr(url, 'the URL'),
      headersJSON(req.headers), body, body ? body.length : 0, status, headers, bodyOut, bodyLen, err)
      .then((rc) => {
        // The outputs are set on an HTTP failure too: take (and free) them first.
        const headersJson = takeString(headers[0])
        const content = takeBytes(bodyOut[0], bodyLen[0])
        const response = status[0] ? responseOf(status[0], headersJson, content, url) : undefined
        try {
          check(rc, err)
        } catch (e) {
          if (e instanceof AppError) e.response = response
          throw e
        }
        return response
      })
    if (!signal) return call
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal)) // the call finishes on its thread; its answer is dropped
      signal.addEventListener('abort', onAbort, { once: true })
      call.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** The access token this App sends (see token()). */
  token () {
    return tokenFor(this.#connStr)
  }

  [util.inspect.custom] () {
    return `App <${this.url}>`
  }

  toString () {
    return `App <${this.url}>`
  }
}

module.exports = { App, Token, token }

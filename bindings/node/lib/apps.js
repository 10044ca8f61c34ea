'use strict'
// Databricks Apps: App.fetch and token(), with the token the core gets,
// caches and renews.
//
// App.fetch sends with global fetch, so that the Response is fetch's own
// (its body streams, an AbortSignal cancels), while the rules stay in the
// core: lakelink_app_authorize_reusable says whether the request may carry
// the token (the app's own origin, its /api/ routes only), gives the
// Authorization header and the User-Agent (lakelink's, as the library's
// own requests carry it; a User-Agent in init.headers goes after it, as
// the core's App.Do does), and says for how long it would answer the same for
// the same request (until its token's renewal): an App keeps that answer
// for an identical method and URL that long (on the monotonic clock), and
// drops every answer it keeps after an answer that is not 2xx, or none
// (the token may have been refused, and renewed early). A failure is
// diagnosed by lakelink_app_diagnose (expired
// token, missing CAN USE or scope, wrong URL, sign-in redirect, refused
// connection...) from what the app answered and the token sent.

const { lib, callAsync, check, takeString, cstr } = require('./native')
const connstr = require('./connstr')
const { AppBase, networkText } = require('./appbase')
const { AppError } = require('./errors')
const { Token } = require('./secrets')
const { tokenOf } = require('./usertoken')

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

/**
 * The core's answer for method and ref, a reference resolved against
 * appURL (lakelink_app_authorize_reusable): {url (where to send it),
 * authorization ('' for none), userAgent (lakelink's), until (the performance.now() until which
 * it holds for this same request; 0 when the core cannot say)}; a refusal
 * throws its AppError.
 */
async function authorize (connStr, appURL, method, ref) {
  const url = [null]
  const out = [null]
  const ms = [0]
  const ua = [null]
  const err = [null]
  check(await callAsync(lib().app_authorize_reusable, connStr, appURL, method, ref, url, out, ms, ua, err), err)
  return {
    url: takeString(url[0]),
    authorization: takeString(out[0]),
    userAgent: takeString(ua[0]),
    until: ms[0] > 0 ? performance.now() + Number(ms[0]) : 0
  }
}

/** How many requests' answers an App keeps (the oldest goes first). */
const KEPT_ANSWERS = 64

/**
 * The AppError for an answer that is not 2xx (status, headers, body), or
 * for no answer (status 0, networkError): lakelink_app_diagnose's.
 */
async function diagnose (connStr, method, url, authorization, status, headers, body, networkError) {
  const err = [null]
  const rc = await callAsync(lib().app_diagnose, connStr, method, url, authorization, status, headers, body,
    body ? body.length : 0, networkError, err)
  try {
    check(rc, err)
  } catch (e) {
    return e
  }
  return new AppError(`${method} ${url}: status ${status}`, { status, kind: 'http' }) // not reached: 2xx are not diagnosed
}

/** The most of an answer's body read for its diagnosis: the app's message is in its first line or JSON. */
const DIAGNOSIS_BODY = 64 * 1024

/** The first DIAGNOSIS_BODY bytes of r's body (all of a shorter one); the rest is not read. */
async function bodyStart (r) {
  if (!r.body) return null
  const reader = r.body.getReader()
  const chunks = []
  let n = 0
  try {
    while (n < DIAGNOSIS_BODY) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      n += value.length
    }
  } catch {
    // a failure to read ends the body there: the diagnosis uses what came
  } finally {
    reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).subarray(0, DIAGNOSIS_BODY)
}

/** A Headers object as the JSON object lakelink_app_diagnose takes. */
function headersJSON (headers) {
  const out = {}
  for (const [name, value] of headers) out[name] = value
  return JSON.stringify(out)
}

/** fetch's methods that it upper-cases (the others are sent as they are given). */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

function methodOf (method) {
  if (method === undefined) return 'GET'
  const m = String(method)
  return NORMALIZED_METHODS.has(m.toUpperCase()) ? m.toUpperCase() : m
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
class App extends AppBase {
  #connStr
  #answers = new Map() // "method ref" -> the core's answer for it, kept until answer.until (performance.now())

  /** The core's answer (URL and Authorization header) for method and ref, kept for this same request while it holds. */
  async #ask (key, method, ref) {
    const answer = await authorize(this.#connStr, cstr(this.url, 'the app URL'), cstr(method, 'the method'), cstr(ref, 'the URL'))
    this.#answers.delete(key)
    if (answer.until) {
      if (this.#answers.size >= KEPT_ANSWERS) this.#answers.delete(this.#answers.keys().next().value)
      this.#answers.set(key, answer)
    }
    return answer
  }

  constructor (url, options) {
    super(url)
    this.#connStr = connstr.fromOptions(options)
  }

  /**
   * Sends a request to path with global fetch and init as fetch takes it
   * (method, headers, body, signal...), with the app's bearer token, and
   * resolves with fetch's Response when its status is 2xx: the body
   * streams, and init.signal aborts as with fetch. The core resolves path
   * against the app's URL as RFC 3986 resolves a reference (a path with
   * its query, or an absolute URL of the app), decides whether the token
   * may go there, and names the URL fetch sends to. Redirects are not
   * followed (redirect: 'manual' whatever init says), so that the token
   * goes nowhere else. Any other status, a network failure, or a URL the
   * token may not go to (another scheme, host or port: kind other_host;
   * outside /api/: not_api_path) rejects with an AppError carrying the
   * core's diagnosis (and, for an answer, the Response); an app URL or
   * path that is not one rejects with an InterfaceError.
   */
  async fetch (path, init) {
    const ref = String(path)
    const method = methodOf(init?.method)
    const connStr = this.#connStr
    init?.signal?.throwIfAborted()
    const key = `${method} ${ref}`
    const kept = this.#answers.get(key)
    const { url, authorization, userAgent } = kept && performance.now() < kept.until ? kept : await this.#ask(key, method, ref)
    let headers
    if (init?.headers === undefined) {
      headers = authorization ? { Authorization: authorization, 'User-Agent': userAgent } : { 'User-Agent': userAgent } // a plain object: what a plain fetch is given, at its cost
    } else {
      headers = new Headers(init.headers)
      if (authorization) headers.set('Authorization', authorization)
      else headers.delete('Authorization')
      const own = headers.get('User-Agent')
      headers.set('User-Agent', own ? `${userAgent} ${own}` : userAgent)
    }
    let response
    try {
      response = await fetch(url, { ...init, method, headers, redirect: 'manual' })
    } catch (e) {
      this.#answers.clear() // every answer kept carries the same token: ask the core again
      if (init?.signal?.aborted || e?.name === 'AbortError') throw e
      const failure = await diagnose(connStr, method, url, authorization, 0, null, null, networkText(e))
      failure.cause = e
      throw failure
    }
    if (response.status >= 200 && response.status < 300) return response
    this.#answers.clear() // ask the core again next time: the token may have been refused
    const body = await bodyStart(response.clone()) // the response keeps its whole body for the AppError
    init?.signal?.throwIfAborted()
    const failure = await diagnose(connStr, method, url, authorization, response.status, headersJSON(response.headers), body, null)
    failure.response = response
    throw failure
  }

  /** The access token this App sends (see token()). */
  token () {
    return tokenFor(this.#connStr)
  }

  /**
   * This app called as the App user whose access token tokenOrRequest is,
   * or carries (a request: see userToken): an App whose connection string
   * is this one's with AuthScheme=Token and that token, so that the app
   * and the workspace see the user. Nothing is kept beyond the App
   * returned. A request without a token throws an AuthError.
   */
  asUser (tokenOrRequest) {
    return new App(this.url, connstr.build(this.#connStr, { AuthScheme: 'Token', Token: tokenOf(tokenOrRequest) }))
  }
}

module.exports = { App, Token, token }

'use strict'
// The access token of a Databricks App's user, from the request the App
// serves: with user authorization on, the Apps proxy sends it in
// X-Forwarded-Access-Token. The rules (PLAN16.md, the same in every
// language): no header is an error naming Apps user authorization; two
// values, a comma list, or a value over 64 KiB are errors; no message
// ever shows the value.

const { AuthError } = require('./errors')

/** The header the Apps proxy puts the user's token in (lower case, as Node's req.headers has its keys). */
const HEADER = 'x-forwarded-access-token'
/** The longest token taken, in bytes. */
const MAX_TOKEN_BYTES = 64 * 1024

const MISSING = 'lakelink: no X-Forwarded-Access-Token header: turn on user authorization for the app ' +
  '(Databricks Apps > the app > Configure > User authorization) and add the API scopes it needs'

/**
 * The header's value or values in req: an IncomingMessage or Express req
 * (req.headers, lower-case keys, an array for a repeated header), a WHATWG
 * Request or Headers (get(), repeated headers comma-joined), or a plain
 * object of headers.
 */
function headerOf (req) {
  if (req === null || typeof req !== 'object') {
    throw new TypeError('lakelink: userToken needs a request (IncomingMessage, Express req, WHATWG Request) or its headers')
  }
  const headers = req.headers ?? req
  if (typeof headers.get === 'function') return headers.get(HEADER)
  if (typeof headers !== 'object' || headers === null) throw new TypeError('lakelink: the request\'s headers are not an object')
  if (HEADER in headers) return headers[HEADER]
  const key = Object.keys(headers).find((k) => k.toLowerCase() === HEADER)
  return key === undefined ? undefined : headers[key]
}

/** token, checked as one user's access token: what userToken and asUser take. */
function checkToken (token) {
  if (Array.isArray(token)) {
    if (token.length > 1) throw new AuthError(`lakelink: ${token.length} X-Forwarded-Access-Token headers: a request carries one user's token`)
    token = token[0]
  }
  if (token === undefined || token === null) throw new AuthError(MISSING)
  if (typeof token !== 'string') throw new TypeError(`lakelink: a user token must be a string, not ${typeof token}`)
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
    throw new AuthError(`lakelink: the X-Forwarded-Access-Token value is over ${MAX_TOKEN_BYTES / 1024} KiB: not a user's token`)
  }
  const t = token.trim()
  if (t === '') throw new AuthError(MISSING)
  if (t.includes(',')) throw new AuthError('lakelink: X-Forwarded-Access-Token holds a list: a request carries one user\'s token')
  if (/[\s\x00-\x1f\x7f]/.test(t)) throw new AuthError('lakelink: X-Forwarded-Access-Token holds spaces or control characters: not one token')
  return t
}

/**
 * The App user's access token in req's X-Forwarded-Access-Token header
 * (see headerOf for what req may be). Throws an AuthError, never showing
 * the value, when there is none, or two, or it is not one token.
 */
function userToken (req) {
  return checkToken(headerOf(req))
}

/** A token given as a string, or the one in a request. */
function tokenOf (tokenOrRequest) {
  return typeof tokenOrRequest === 'string' ? checkToken(tokenOrRequest) : userToken(tokenOrRequest)
}

module.exports = { userToken, tokenOf }

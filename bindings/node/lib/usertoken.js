'use strict'
// The access token of a Databricks App's user, from the request the App
// serves: with user authorization on, the Apps proxy sends it in
// X-Forwarded-Access-Token. The rules are Go's apps.UserToken's: no header
// is an error naming Apps user authorization; two values, or a value that
// is not one bearer token (a comma list, spaces, over 64 KiB) are errors;
// no message ever shows the value.

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

/** RFC 7235's token68 before its padding: the characters of a bearer token. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]*$/

/**
 * token (a header's value or values, or a string given as the token; what
 * names it in errors), checked as one user's access token: core/auth's
 * CheckBearerToken's rules, which the C ABI does not offer, with its words.
 */
function checkToken (token, what) {
  if (Array.isArray(token)) {
    if (token.length > 1) {
      throw new AuthError(`lakelink: ${token.length} X-Forwarded-Access-Token headers: a request carries one user's token; ` +
        'send the request through the Apps platform, which sets the header itself')
    }
    token = token[0]
  }
  if (token === undefined || token === null) throw new AuthError(MISSING)
  if (typeof token !== 'string') throw new TypeError(`lakelink: a user token must be a string, not ${typeof token}`)
  const bytes = Buffer.byteLength(token)
  if (bytes > MAX_TOKEN_BYTES) {
    throw new AuthError(`lakelink: ${what}: the access token is ${bytes} bytes long, more than the ${MAX_TOKEN_BYTES / 1024} KiB a token may be`)
  }
  const t = token.trim() // a header value's surrounding whitespace is not part of it
  if (t === '') throw new AuthError(MISSING)
  const body = t.replace(/=+$/, '')
  if (body === '') throw new AuthError(`lakelink: ${what}: the access token is only padding (=)`)
  if (!TOKEN68.test(body)) {
    const i = body.search(/[^A-Za-z0-9\-._~+/]/)
    const c = body[i]
    let why = `the access token has a character a bearer token cannot have (at byte ${Buffer.byteLength(body.slice(0, i))})`
    if (c === ',') why = 'the value is a comma-separated list, not one access token'
    else if (c === ' ' && body.slice(0, i).toLowerCase() === 'bearer') why = 'the value starts with "Bearer ": give the access token alone'
    else if (/\s/.test(c)) why = 'the value has spaces: it holds more than one access token, or something else'
    throw new AuthError(`lakelink: ${what}: ${why}`)
  }
  return t
}

/**
 * The App user's access token in req's X-Forwarded-Access-Token header
 * (see headerOf for what req may be). Throws an AuthError, never showing
 * the value, when there is none, or two, or it is not one token.
 */
function userToken (req) {
  return checkToken(headerOf(req), 'X-Forwarded-Access-Token header')
}

/** A token given as a string, or the one in a request. */
function tokenOf (tokenOrRequest) {
  return typeof tokenOrRequest === 'string' ? checkToken(tokenOrRequest, 'the user token') : userToken(tokenOrRequest)
}

module.exports = { userToken, tokenOf }

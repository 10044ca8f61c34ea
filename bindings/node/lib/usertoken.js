'use strict'
// The access token of a Databricks App's user, from the request the App
// serves: with user authorization on, the Apps proxy sends it in
// X-Forwarded-Access-Token. Only the header is read here: no header is an
// error naming Apps user authorization, two header lines are an error, and
// a value over 64 KiB is refused before it is copied any further. Whether
// the value has the shape of one bearer token (not a comma list, no
// "Bearer " before it, ...) is the core's rule (core/auth's
// CheckBearerToken), checked where the token is used: a pool's acquire
// (lakelink_pool_acquire) and an App's calls (AuthScheme=Token) fail with
// LAKELINK_INVALID_ARGUMENT in its words. No message ever shows the value.

const { AuthError, InterfaceError } = require('./errors')

/** The header the Apps proxy puts the user's token in (lower case, as Node's req.headers has its keys). */
const HEADER = 'x-forwarded-access-token'
/** The longest token read from a request, in bytes (the core's limit too). */
const MAX_TOKEN_BYTES = 64 * 1024

const MISSING = 'lakelink: no X-Forwarded-Access-Token header: turn on user authorization for the app ' +
  '(Databricks Apps > the app > Configure > User authorization) and add the API scopes it needs'

/**
 * The header's value or values in req: an IncomingMessage or Express req
 * (req.headersDistinct, one value per header line, else req.headers,
 * lower-case keys), a WHATWG Request or Headers (get(), repeated headers
 * comma-joined), or a plain object of headers.
 */
function headerOf (req) {
  if (req === null || typeof req !== 'object') {
    throw new TypeError('lakelink: userToken needs a request (IncomingMessage, Express req, WHATWG Request) or its headers')
  }
  if (req.headersDistinct && typeof req.headersDistinct === 'object') return req.headersDistinct[HEADER]
  const headers = req.headers ?? req
  if (typeof headers.get === 'function') return headers.get(HEADER)
  if (typeof headers !== 'object' || headers === null) throw new TypeError('lakelink: the request\'s headers are not an object')
  if (HEADER in headers) return headers[HEADER]
  const key = Object.keys(headers).find((k) => k.toLowerCase() === HEADER)
  return key === undefined ? undefined : headers[key]
}

/**
 * The App user's access token in req's X-Forwarded-Access-Token header
 * (see headerOf for what req may be), as sent. Throws an AuthError when
 * there is none or it is empty (user authorization is off), or there are
 * two header lines; an InterfaceError (LAKELINK_INVALID_ARGUMENT) for a
 * value over 64 KiB. Never shows the value.
 */
function userToken (req) {
  let token = headerOf(req)
  if (Array.isArray(token)) {
    if (token.length > 1) {
      throw new AuthError(`lakelink: ${token.length} X-Forwarded-Access-Token headers: a request carries one user's token; ` +
        'send the request through the Apps platform, which sets the header itself')
    }
    token = token[0]
  }
  if (token === undefined || token === null || token === '') throw new AuthError(MISSING)
  if (typeof token !== 'string') throw new TypeError(`lakelink: the X-Forwarded-Access-Token header must be a string, not ${typeof token}`)
  const bytes = Buffer.byteLength(token)
  if (bytes > MAX_TOKEN_BYTES) {
    throw new InterfaceError(`lakelink: X-Forwarded-Access-Token header: the access token is ${bytes} bytes long, ` +
      `more than the ${MAX_TOKEN_BYTES >> 10} KiB a token may be`, { code: 'LAKELINK_INVALID_ARGUMENT' })
  }
  return token
}

/**
 * A token given as a string (as it is: the core checks it where it is
 * used; '' is no token), or the one in a request (userToken).
 */
function tokenOf (tokenOrRequest) {
  if (typeof tokenOrRequest !== 'string') return userToken(tokenOrRequest)
  if (tokenOrRequest === '') throw new AuthError(MISSING)
  return tokenOrRequest
}

module.exports = { userToken, tokenOf }

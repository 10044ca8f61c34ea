'use strict'
// Values that hold secrets, shown without them: util.inspect and String
// never print a token, a PKCE verifier or a password. No native code here,
// so that require('lakelink/wasm') shares them.

const util = require('node:util')

/** The fields of a Result that are secrets. */
const SECRETS = new Set(['PKCEVerifier', 'OAuthAccessToken', 'OAuthRefreshToken', 'password'])

/** An access token (a secret: inspect, String and JSON never show it) and its expiry. */
class Token {
  #accessToken

  constructor (accessToken, expiresAt) {
    this.#accessToken = accessToken
    /** When it expires (a Date), or null when unknown. */
    this.expiresAt = expiresAt
  }

  /** The token itself: put it in an Authorization: Bearer header, never in a log. */
  get accessToken () {
    return this.#accessToken
  }

  [util.inspect.custom] (depth, options, inspect) {
    return `Token { accessToken: '***', expiresAt: ${inspect(this.expiresAt, options)} }`
  }

  toString () {
    return 'Token ***'
  }
}

/** A procedure's answer: its fields as the core names them, the secret ones shown as '***' by inspect. */
class Result {
  constructor (fields) {
    Object.assign(this, fields)
  }

  [util.inspect.custom] (depth, options, inspect) {
    const shown = {}
    for (const [k, v] of Object.entries(this)) shown[k] = SECRETS.has(k) && v ? '***' : v
    return inspect(shown, options)
  }
}

module.exports = { Token, Result, SECRETS }

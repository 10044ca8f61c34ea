'use strict'
// The CData connectors' OAuth procedures, under their names and with their
// output fields. Their answers hold secrets (PKCEVerifier, the tokens):
// util.inspect shows them as '***'; read the fields to store them.

const { lib, callAsync, check, takeString, cstr } = require('./native')
const connstr = require('./connstr')
const { Result } = require('./secrets')

async function procedure (fn, connection, ...args) {
  const out = [null]
  const err = [null]
  const connStr = connstr.fromOptions(connection)
  check(await callAsync(fn, connStr, ...args, out, err), err)
  return new Result(JSON.parse(takeString(out[0])))
}

/**
 * GetOAuthAuthorizationUrl: {URL, State, PKCEVerifier} for a connection
 * (a string or {connectionString, ...properties}); keep PKCEVerifier, a
 * secret, until the exchange. callbackUrl, scope and state default as the
 * core says.
 */
function getOAuthAuthorizationUrl (connection, { callbackUrl, scope, state } = {}) {
  return procedure(lib().oauth_authorization_url, connection, cstr(callbackUrl, 'callbackUrl'), cstr(scope, 'scope'),
    cstr(state, 'state'))
}

/**
 * GetOAuthAccessToken: {OAuthAccessToken, OAuthRefreshToken, ExpiresIn,
 * Scope}. authMode 'WEB' (the default) exchanges verifier (the code, or the
 * whole callback URL, whose state must be state when given and whose
 * error= is thrown as the server's refusal) with pkceVerifier and
 * callbackUrl; 'APP' runs the browser flow.
 */
function getOAuthAccessToken (connection, { verifier, authMode = 'WEB', callbackUrl, state, pkceVerifier } = {}) {
  return procedure(lib().oauth_access_token, connection, cstr(verifier, 'verifier'), cstr(authMode, 'authMode'),
    cstr(callbackUrl, 'callbackUrl'), cstr(state, 'state'), cstr(pkceVerifier, 'pkceVerifier'))
}

/**
 * RefreshOAuthAccessToken: as getOAuthAccessToken, for refreshToken (or the
 * connection's OAuthRefreshToken when not given). Keep the new refresh
 * token: the old one is spent.
 */
function refreshOAuthAccessToken (connection, { refreshToken } = {}) {
  return procedure(lib().oauth_refresh, connection, cstr(refreshToken, 'refreshToken'))
}

module.exports = { getOAuthAuthorizationUrl, getOAuthAccessToken, refreshOAuthAccessToken }

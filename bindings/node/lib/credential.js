'use strict'
// The Lakebase login for other Postgres drivers, from the native library:
// lakebaseCredential (lakelink_lakebase_credential), and pgConfig and
// postgresConfig over it (lib/pgconfig.js, shared with require('lakelink/wasm')).

const { lib, callAsync, check, takeString } = require('./native')
const connstr = require('./connstr')
const { credentialOf, configsFor } = require('./pgconfig')

/**
 * The Lakebase login for a connection (a connection string with Server
 * and Instance or Endpoint, or {connectionString, ...properties}):
 * {host, port, database, user, password, sslmode, sslrootcert,
 * sslrootcert_pem, application_name, expires_at}. The core mints the
 * password, a credential, and reuses it until it nears expiry (expires_at:
 * a Date, or null when unknown); inspect shows it as '***'.
 */
async function lakebaseCredential (connection) {
  const connStr = connstr.fromOptions(connection)
  const out = [null]
  const err = [null]
  check(await callAsync(lib().lakebase_credential, connStr, out, err), err)
  return credentialOf(JSON.parse(takeString(out[0])))
}

module.exports = { lakebaseCredential, ...configsFor(lakebaseCredential) }

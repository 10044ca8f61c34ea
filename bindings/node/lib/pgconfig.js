'use strict'
// The Lakebase login for other Postgres drivers: node-postgres (pgConfig)
// and Postgres.js (postgresConfig), and through them Drizzle, Kysely,
// Knex, Prisma's @prisma/adapter-pg and TypeORM. No native code here, so
// that require('lakelink') and require('lakelink/wasm') share it: each
// gives the function that asks its core for a credential
// (lakelink_lakebase_credential, or the module's lakebase_credential op).
//
// The core mints the credential and reuses it until it nears expiry. The
// driver asks for a password at each new session only; the password
// function keeps the credential it was given until the same renewal time
// the core uses, so that a pool's new sessions cost no call into the core
// (nor a wait for the wasm module's worker) until then, and one renewal
// at a time is asked for, whatever the number of sessions opening.

const fs = require('node:fs')
const tls = require('node:tls')
const { Result } = require('./secrets')

/** The core's answer to lakebase_credential as both entries return it: its fields, expires_at a Date (or null when unknown). */
function credentialOf (fields) {
  return new Result({ ...fields, expires_at: fields.expires_at ? new Date(fields.expires_at) : null })
}

/** The longest a credential is renewed ahead of its expiry (core/auth.NeedsRenewal: a quarter of its lifetime, at most 5 minutes). */
const MAX_RENEW_AHEAD_MS = 5 * 60 * 1000

/**
 * When a credential received at receivedAt (ms) and expiring at expiresAt
 * (a Date, or null) is renewed: core/auth.NeedsRenewal's rule, so that
 * the core, asked then, mints a new one. Never for one without an expiry.
 */
function renewalTime (expiresAt, receivedAt) {
  if (!expiresAt) return Infinity
  const expiry = expiresAt.getTime()
  return expiry - Math.min(MAX_RENEW_AHEAD_MS, Math.max(0, expiry - receivedAt) / 4)
}

/**
 * The password of a connection for a driver: the credential fetch()
 * resolves with (the core's answer), kept until its renewal time, then
 * asked for again, once however many sessions ask meanwhile. A renewal
 * that fails while the credential kept has not expired yet gives that one
 * (the core does the same).
 */
class Password {
  #fetch
  #current = null // {credential, renewAt}
  #renewing = null // the renewal under way

  constructor (fetch) {
    this.#fetch = fetch
  }

  /** The current credential, fetched when none is kept or its renewal time has come. */
  credential () {
    const c = this.#current
    if (c && Date.now() < c.renewAt) return Promise.resolve(c.credential)
    this.#renewing ??= this.#fetch().then((credential) => {
      this.#current = { credential, renewAt: renewalTime(credential.expires_at, Date.now()) }
      return credential
    }, (e) => {
      if (c && c.credential.expires_at && Date.now() < c.credential.expires_at.getTime()) return c.credential
      throw e
    }).finally(() => { this.#renewing = null })
    return this.#renewing
  }

  /** The password, as a driver's password function resolves with it. */
  async get () {
    return (await this.credential()).password
  }
}

/** The CA of a credential as PEM text: sslrootcert_pem, or the file sslrootcert names; null for the system's roots. */
function caOf (c) {
  if (c.sslrootcert_pem) return c.sslrootcert_pem
  if (!c.sslrootcert || c.sslrootcert === 'system') return null
  return fs.readFileSync(c.sslrootcert, 'utf8')
}

/**
 * The TLS options of a credential's sslmode for node-postgres and
 * Postgres.js (both hand them to tls.connect, which checks the host name
 * against servername, which both set): false for disable; without
 * verification for allow, prefer and require (as libpq: Lakebase always
 * offers TLS, and neither driver falls back to plain text); verify-ca
 * checks the chain to the CA only; verify-full the chain and the host
 * name. The CA (SSLServerCert, or the system's CA bundle that the core
 * names for verify-full) goes in a secure context made once, shared by
 * every session.
 */
function sslOf (c) {
  switch (c.sslmode) {
    case 'disable':
      return false
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
    case 'verify-full': {
      const ca = caOf(c)
      const ssl = { rejectUnauthorized: true }
      if (ca) ssl.secureContext = tls.createSecureContext({ ca })
      if (c.sslmode === 'verify-ca') ssl.checkServerIdentity = () => undefined
      return ssl
    }
    default:
      throw new TypeError(`lakelink: unknown sslmode ${c.sslmode}`)
  }
}

/** A Password for fetch's credentials, and the first of them (the login now: a wrong connection string fails here). */
async function firstLogin (fetch) {
  const password = new Password(fetch)
  return { credential: await password.credential(), password }
}

/**
 * A node-postgres ClientConfig (and PoolConfig) for a connection: the
 * credential's host, port, database, user, ssl and application_name, and
 * password as a function. fetch resolves with the connection's credential.
 */
async function pgConfig (fetch) {
  const { credential: c, password } = await firstLogin(fetch)
  const config = { host: c.host, port: c.port, database: c.database, user: c.user, password: () => password.get(), ssl: sslOf(c) }
  if (c.application_name) config.application_name = c.application_name
  return config
}

/** Postgres.js's options for a connection, as pgConfig gives node-postgres's (password a function, as Postgres.js takes it). */
async function postgresConfig (fetch) {
  const { credential: c, password } = await firstLogin(fetch)
  const config = { host: c.host, port: c.port, database: c.database, username: c.user, password: () => password.get(), ssl: sslOf(c) }
  if (c.application_name) config.connection = { application_name: c.application_name }
  return config
}

/**
 * connection (a connection string, or {connectionString, ...properties})
 * with overrides' properties over its own, as ConnectionOptions.
 */
function withOverrides (connection, overrides) {
  if (overrides === undefined || overrides === null) return connection
  if (typeof overrides !== 'object') throw new TypeError(`lakelink: overrides must be an object of connection properties, not ${typeof overrides}`)
  const base = typeof connection === 'string' ? { connectionString: connection } : connection ?? {}
  return { ...base, ...overrides }
}

/**
 * pgConfig and postgresConfig for an entry (require('lakelink') or
 * require('lakelink/wasm')) whose lakebaseCredential(connection) asks its
 * core.
 */
function configsFor (lakebaseCredential) {
  const fetchFor = (connection, overrides) => {
    const options = withOverrides(connection, overrides)
    return () => lakebaseCredential(options)
  }
  return {
    pgConfig: async (connection, overrides) => pgConfig(fetchFor(connection, overrides)),
    postgresConfig: async (connection, overrides) => postgresConfig(fetchFor(connection, overrides))
  }
}

module.exports = { credentialOf, renewalTime, Password, sslOf, configsFor }

'use strict'
// lakelink for Node: Databricks OAuth for Apps and Lakebase over
// liblakelink (koffi). Every blocking call runs on a worker thread.
//
//   const { Pool, Client, App, token, userToken } = require('lakelink')
//   const pool = new pg.Pool(await pgConfig(connectionString)) // another driver, lakelink's login

const native = require('./lib/native')
const { Pool, connect } = require('./lib/pool')
const { Transaction } = require('./lib/transaction')
const { Client } = require('./lib/client')
const { App, Token, token } = require('./lib/apps')
const { userToken } = require('./lib/usertoken')
const { lakebaseCredential, pgConfig, postgresConfig } = require('./lib/credential')
const oauth = require('./lib/oauth')
const errors = require('./lib/errors')
const connstr = require('./lib/connstr')

/** The native library's version, e.g. "0.1.0". */
const libraryVersion = () => native.version()

/** The path of the loaded liblakelink.so. */
const libraryPath = () => native.lib().path

/** A connection string as the core reads it, every secret shown as '***'. */
const normalizeConnectionString = (connectionString) => connstr.normalize(connectionString).normalized

module.exports = {
  Pool,
  Client,
  connect,
  /** What connect() resolves with, before Pool: the same class now. */
  Connection: Pool,
  Transaction,
  userToken,
  App,
  Token,
  token,
  lakebaseCredential,
  pgConfig,
  postgresConfig,
  getOAuthAuthorizationUrl: oauth.getOAuthAuthorizationUrl,
  getOAuthAccessToken: oauth.getOAuthAccessToken,
  refreshOAuthAccessToken: oauth.refreshOAuthAccessToken,
  ...errors.classes,
  libraryVersion,
  libraryPath,
  normalizeConnectionString
}

'use strict'
// What the integration tests share: the emulator (run.js's, started with
// --token-ttl 5s, so that credentials expire while pools live), lakelink's
// two entries, and the emulator's counts.

const fs = require('node:fs')
const path = require('node:path')
const helpers = require('../helpers')

/** require('lakelink') and require('lakelink/wasm') (this checkout's package). */
const PKG = path.resolve(__dirname, '..', '..')
const lakelink = require(PKG)
const wasm = require(path.join(PKG, 'wasm'))

/** A credential's lifetime in this emulator, in ms (--token-ttl). */
const TTL_MS = 5000

let own = null

/** emulator.json of run.js's emulator, or, when a file runs alone, of one of its own with --token-ttl 5s. */
async function emulator () {
  if (process.env.LAKELINK_TEST_EMULATOR) return JSON.parse(fs.readFileSync(process.env.LAKELINK_TEST_EMULATOR, 'utf8'))
  if (!own) {
    own = helpers.startEmulator(['--token-ttl', `${TTL_MS / 1000}s`])
    const { proc } = await own
    proc.unref()
    process.on('exit', () => proc.kill('SIGTERM'))
  }
  return (await own).info
}

/**
 * The two entries and the service principal's Lakebase connection for
 * each: [{name, lakelink, conn}]. The wasm module has no file system: its
 * connection carries the emulator's CA as PEM text.
 */
function entries (info) {
  return [
    { name: 'native', lakelink, conn: helpers.lakebase(info) },
    { name: 'wasm', lakelink: wasm, conn: { connectionString: helpers.lakebase(info), SSLServerCert: fs.readFileSync(info.lakebase.ca_file, 'utf8') } }
  ]
}

/** The emulator's counts (/_emulator/stats). */
async function stats (info) {
  const r = await fetch(`${info.admin_url}/stats`)
  if (r.status !== 200) throw new Error(`/_emulator/stats: ${r.status}`)
  return r.json()
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs use() (which runs statements on a pool whose sessions stay idle
 * under a second), waits past a credential's expiry, then use() again:
 * the pool's new sessions log in with a renewed credential. Checks that
 * no login was refused (by any test: the files run side by side), and
 * that a credential was minted and sessions logged in meanwhile.
 */
async function acrossExpiry (info, use) {
  await use()
  const before = await stats(info)
  await sleep(TTL_MS + 1500)
  await use()
  const after = await stats(info)
  if (after.gateway_logins.refused !== before.gateway_logins.refused) throw new Error(`${after.gateway_logins.refused - before.gateway_logins.refused} logins refused`)
  if (after.credentials_issued <= before.credentials_issued) throw new Error('no credential was minted after the first expired')
  if (after.gateway_logins.accepted <= before.gateway_logins.accepted) throw new Error('no new session logged in after the wait')
}

module.exports = { lakelink, wasm, TTL_MS, emulator, entries, stats, sleep, acrossExpiry, helpers }

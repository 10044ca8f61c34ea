'use strict'
// A smoke test of the Node binding (bindings/node) on the platform it runs
// on: a service principal's token, a Lakebase query and a call to the
// emulator's app. harness_test.go runs it with the Node LAKELINK_TEST_NODE
// names (natively: node), with NODE_PATH at a node_modules that holds koffi
// for this platform when bindings/node's own lacks it, and:
//   LAKELINK_LIBRARY, LAKELINK_SP, LAKELINK_APP_URL, LAKELINK_LAKEBASE
const path = require('node:path')
const assert = require('node:assert')
const lakelink = require(path.join(__dirname, '..', '..', 'bindings', 'node'))

async function main () {
  console.log(`-- Node ${process.version} on ${process.platform}/${process.arch}`)
  const tok = await lakelink.token(process.env.LAKELINK_SP)
  assert.ok(tok.expiresAt instanceof Date, 'a token with its expiry')
  console.log('-- a service principal\'s token')
  const pool = new lakelink.Pool(process.env.LAKELINK_LAKEBASE, { max: 2 })
  try {
    const { rows } = await pool.query("SELECT 1 + $1::int AS n, 'é' || $2 AS s", [41, 't'])
    assert.deepStrictEqual([rows[0].n, rows[0].s], [42, 'ét'])
    console.log('-- Lakebase:', rows[0].n, rows[0].s)
  } finally {
    await pool.end()
  }
  // App calls go out through Node's own fetch (libuv's sockets): under
  // wine 8.0 libuv cannot connect (connect UNKNOWN), so build/platforms/run.sh
  // sets LAKELINK_SMOKE_NO_NODE_SOCKETS there and says so.
  if (process.env.LAKELINK_SMOKE_NO_NODE_SOCKETS) {
    console.log('-- skipped: the app call (Node sockets):', process.env.LAKELINK_SMOKE_NO_NODE_SOCKETS)
  } else {
    const app = new lakelink.App(process.env.LAKELINK_APP_URL, process.env.LAKELINK_SP)
    const r = await app.fetch('/api/whoami')
    assert.strictEqual(r.status, 200)
    console.log('-- the app\'s /api/whoami:', r.status)
  }
  console.log('PASS node_smoke.js')
}

main().catch((e) => { console.error(e); process.exit(1) })

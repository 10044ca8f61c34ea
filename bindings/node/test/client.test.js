'use strict'
// Client: one server session of its own (lakelink_connect), as
// node-postgres's Client: connect(), query() one at a time, end() ends the
// session on the server. 100 clients with distinct and 100 with equal
// connection strings leave no session behind.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const util = require('node:util')
const { emulator, lakebase, adminConnectionString } = require('./helpers')

let info
let admin
before(async () => {
  info = await emulator()
  admin = new lakelink.Client(adminConnectionString(info))
  await admin.connect()
})
after(() => admin.end())

/** Sessions on the server (past the gateway) whose application_name starts with prefix. */
async function sessions (prefix) {
  const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1 || '%'", [prefix])
  return r.rows[0].n
}

/** Waits (up to 5 s) for the server to see no session of prefix: a backend ends a moment after its client left. */
async function noSessions (prefix) {
  let n
  for (let i = 0; i < 100 && (n = await sessions(prefix)) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return n
}

test('a Client is one session: connect, queries in order, end', async () => {
  const c = new lakelink.Client(lakebase(info) + ';ApplicationName=node-client-one')
  await assert.rejects(c.query('SELECT 1'), (e) => e.code === 'LAKELINK_CLOSED' && /connect\(\) first/.test(e.message))
  await c.connect()
  await assert.rejects(c.connect(), /connects once/)
  const pids = await Promise.all(Array.from({ length: 10 }, (_, i) => c.query('SELECT pg_backend_pid() AS pid, $1::int AS i', [i])))
  assert.deepEqual(pids.map((r) => r.rows[0].i), Array.from({ length: 10 }, (_, i) => i))
  assert.equal(new Set(pids.map((r) => r.rows[0].pid)).size, 1)
  await c.query('CREATE TEMP TABLE node_client_t (x int)') // a session's own: the next statement sees it
  await c.query('INSERT INTO node_client_t VALUES (1)')
  assert.deepEqual((await c.query('SELECT x FROM node_client_t')).rows, [{ x: 1 }])
  const rows = []
  for await (const row of c.stream('SELECT g FROM generate_series(1, 5) g', [], { batchSize: 2 })) rows.push(row.g)
  assert.deepEqual(rows, [1, 2, 3, 4, 5])
  assert.equal(await sessions('node-client-one'), 1)
  await Promise.all([c.end(), c.end()])
  await assert.rejects(c.query('SELECT 1'), (e) => e.code === 'LAKELINK_CLOSED' && /ended/.test(e.message))
  assert.equal(await noSessions('node-client-one'), 0)
})

test('end() waits for the statements called before it', async () => {
  const c = new lakelink.Client(lakebase(info), { int8: 'string' })
  await c.connect()
  const running = c.query('SELECT pg_sleep(0.2), 9223372036854775807::int8 AS v')
  await c.end()
  assert.equal((await running).rows[0].v, '9223372036854775807')
})

test('a Client that cannot log in rejects connect() saying which host; options are checked', async () => {
  const c = new lakelink.Client(lakebase(info).replace(/;Port=\d+/, ';Port=1'))
  await assert.rejects(c.connect(), /127\.0\.0\.1:1/)
  await assert.rejects(c.query('SELECT 1'), { code: 'LAKELINK_CLOSED' })
  assert.throws(() => new lakelink.Client(lakebase(info), { max: 3 }), { name: 'TypeError', message: /no option max/ })
  assert.throws(() => new lakelink.Client(lakebase(info), { int8: 'number' }), TypeError)
  assert.throws(() => new lakelink.Client('NoSuchKey=1'), lakelink.ConnectionStringError)
  const shown = util.inspect(new lakelink.Client(lakebase(info)))
  assert.ok(!shown.includes(info.service_principal.client_secret) && /OAuthClientSecret=\*\*\*/.test(shown), shown)
})

test('100 clients with distinct and 100 with equal connection strings: connect, end, no session left on the server', async () => {
  for (const [prefix, name] of [['node-client-d', (i) => `node-client-d${i}`], ['node-client-e', () => 'node-client-e']]) {
    for (let i = 0; i < 100; i += 20) { // 20 at once: the server's max_connections is about 100
      const batch = Array.from({ length: 20 }, (_, j) => new lakelink.Client(`${lakebase(info)};ApplicationName=${name(i + j)}`))
      await Promise.all(batch.map(async (c) => {
        await c.connect()
        assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1)
      }))
      assert.equal(await sessions(prefix), 20) // each its own, equal strings too
      await Promise.all(batch.map((c) => c.end()))
    }
    assert.equal(await noSessions(prefix), 0)
  }
})

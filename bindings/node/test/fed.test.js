'use strict'
// Statements whose answers the event loop reads (lib/fed.js): from a
// statement's second run on a session, its answer comes through a
// duplicate of the session's socket that the loop reads, not through a
// caller thread. What a statement answers must not depend on that: rows,
// errors, aborts, a schema change, a large answer, a session the server
// ends. Each session's duplicate closes with it.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { test, before, after } = require('node:test')
const { emulator, lakebase, adminConnectionString } = require('./helpers')

const posix = process.platform !== 'win32'

let info
let admin
before(async () => {
  info = await emulator()
  admin = new lakelink.Client(adminConnectionString(info))
  await admin.connect()
})
after(() => admin.end())

/** The process's open file descriptors (Linux). */
const openFds = () => fs.readdirSync('/proc/self/fd').length

/** Runs fn(client) on a new Client of the gateway (TLS), ended after. */
async function withClient (fn, name = 'node-fed') {
  const c = new lakelink.Client(`${lakebase(info)};ApplicationName=${name}`)
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

test('a statement answers the same when its answer is read on the loop', { skip: !posix }, async () => {
  await withClient(async (c) => {
    const fds = openFds()
    const text = "SELECT g, g::text AS t, 'é'::text AS u, now() - now() AS d, $1::int8 AS big, ARRAY[g] AS a " +
      'FROM generate_series(1, $2::int) g'
    const first = await c.query(text, [2n ** 62n, 3]) // prepared, then sent
    assert.equal(openFds(), fds + 1, "the session's socket is duplicated for the loop to read")
    for (let i = 0; i < 3; i++) {
      const again = await c.query(text, [2n ** 62n, 3]) // read on the loop
      assert.deepEqual(again.rows, first.rows)
      assert.deepEqual(again.fields, first.fields)
      assert.equal(again.command, 'SELECT')
      assert.equal(again.rowCount, 3)
    }
    assert.equal(openFds(), fds + 1, 'once')
    const arrays = await c.query({ text, values: [1n, 2], rowMode: 'array' })
    assert.deepEqual(arrays.rows[1], [2, '2', 'é', arrays.rows[1][3], 1n, [2]])
  })
})

test('an error read on the loop is the error a caller thread reads, and the session goes on', { skip: !posix }, async () => {
  await withClient(async (c) => {
    const errors = []
    for (let i = 0; i < 3; i++) errors.push(await c.query('SELECT 1 / $1::int', [0]).catch((e) => e))
    for (const e of errors) {
      assert.equal(e.code, '22012')
      assert.equal(e.message, errors[0].message)
    }
    assert.deepEqual((await c.query('SELECT $1::int + 1 AS n', [1])).rows, [{ n: 2 }])
  })
})

test('a large answer is read as it comes, however it started', { skip: !posix }, async () => {
  await withClient(async (c) => {
    const text = 'SELECT g, md5(g::text) AS h FROM generate_series(1, $1::int) g'
    const first = await c.query(text, [50000])
    const again = await c.query(text, [50000])
    assert.equal(again.rowCount, 50000)
    assert.deepEqual(again.rows[49999], first.rows[49999])
    const rows = []
    for await (const row of c.stream(text, [30000], { batchSize: 1000 })) rows.push(row)
    assert.equal(rows.length, 30000)
    assert.deepEqual(rows[29999], first.rows[29999])
  })
})

test('an abort cancels a statement whose answer the loop awaits', { skip: !posix }, async () => {
  await withClient(async (c) => {
    await c.query('SELECT pg_sleep($1::float8)', [0])
    const started = Date.now()
    const e = await c.query({ text: 'SELECT pg_sleep($1::float8)', values: [5], signal: AbortSignal.timeout(200) }).catch((x) => x)
    assert.equal(e.name, 'AbortError')
    assert.equal(e.code, '57014')
    assert.ok(Date.now() - started < 3000)
    assert.deepEqual((await c.query('SELECT $1::int AS n', [7])).rows, [{ n: 7 }])
  })
})

test('a schema change between two runs gives the new columns', { skip: !posix }, async () => {
  await admin.query('CREATE TABLE IF NOT EXISTS fed_alter (a int)')
  await admin.query('GRANT ALL ON fed_alter TO PUBLIC')
  await admin.query('TRUNCATE fed_alter')
  await admin.query('INSERT INTO fed_alter VALUES (1)')
  try {
    await withClient(async (c) => {
      const text = 'SELECT a FROM fed_alter WHERE $1::int > 0'
      assert.deepEqual((await c.query(text, [1])).rows, [{ a: 1 }])
      assert.deepEqual((await c.query(text, [1])).rows, [{ a: 1 }])
      await admin.query('ALTER TABLE fed_alter ALTER COLUMN a TYPE text')
      assert.deepEqual((await c.query(text, [1])).rows, [{ a: '1' }])
      // The session's own DDL, then statements again, and a transaction.
      await c.query('CREATE TEMP TABLE fed_own (b int)')
      await c.query('INSERT INTO fed_own VALUES ($1)', [1])
      await c.query('INSERT INTO fed_own VALUES ($1)', [2])
      await c.query('BEGIN')
      await c.query('INSERT INTO fed_own VALUES ($1)', [3])
      await c.query('ROLLBACK')
      assert.deepEqual((await c.query('SELECT sum(b)::int AS s FROM fed_own')).rows, [{ s: 3 }])
    })
  } finally {
    await admin.query('DROP TABLE fed_alter')
  }
})

test('a session the server ends while the loop awaits its answer fails the statement, and the next', { skip: !posix }, async () => {
  const c = new lakelink.Client(`${lakebase(info)};ApplicationName=node-fed-ended`)
  await c.connect()
  await c.query('SELECT pg_sleep($1::float8)', [0])
  const running = c.query('SELECT pg_sleep($1::float8)', [5]).catch((e) => e)
  await new Promise((resolve) => setTimeout(resolve, 300))
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'node-fed-ended'")
  const e = await running
  assert.ok(e instanceof Error, `the statement failed: ${e}`)
  await assert.rejects(c.query('SELECT $1::int', [1]))
  await c.end().catch(() => {})
})

test("a pool's one-off statements and transactions take no duplicate of its sessions' sockets", { skip: !posix }, async () => {
  const pool = new lakelink.Pool(`${lakebase(info)};ApplicationName=node-fed-pool;MaxConnections=1`)
  try {
    await pool.query('SELECT pg_sleep(0)') // the pool's session, and threads, start
    const fds = openFds()
    const running = pool.query('SELECT pg_sleep(0.3)') // its second run: read on the loop, were it a held session's
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.equal(openFds(), fds)
    await running
    await pool.transaction(async (tx) => { // nothing is read on the loop in a transaction: no duplicate either
      await tx.query('SELECT $1::int', [1])
      await tx.query('SELECT $1::int', [2])
      assert.equal(openFds(), fds)
    })
  } finally {
    await pool.end()
  }
})

test('clients that read answers on the loop leave no descriptor open', { skip: !posix }, async () => {
  const round = () => Promise.all(Array.from({ length: 20 }, (_, i) => withClient(async (c) => {
    for (let k = 0; k < 5; k++) assert.deepEqual((await c.query('SELECT $1::int AS i', [i])).rows, [{ i }])
  }, `node-fed-many-${i}`)))
  await round() // the first 20 at once start threads (and their descriptors) that stay
  const fds = openFds()
  await round()
  await new Promise((resolve) => setImmediate(resolve)) // a net.Socket's descriptor closes on the loop's next turn
  assert.equal(openFds(), fds)
})

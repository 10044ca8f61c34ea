'use strict'
// Lakebase through the emulator: query shapes, parameters, transactions,
// streaming, the pool, errors, and the event loop staying free.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const util = require('node:util')
const { emulator, lakebase } = require('./helpers')

let info
let conn
before(async () => {
  info = await emulator()
  conn = await lakelink.connect(lakebase(info))
})
after(() => conn.close())

test('query returns node-postgres\'s result shape', async () => {
  const r = await conn.query('SELECT 1 AS a, $1::text AS b', ['x'])
  assert.equal(r.command, 'SELECT')
  assert.equal(r.rowCount, 1)
  assert.deepEqual(r.rows, [{ a: 1, b: 'x' }])
  assert.deepEqual(r.fields.map((f) => [f.name, f.dataTypeID]), [['a', 23], ['b', 25]])
})

test('a config object, rowMode array', async () => {
  const r = await conn.query({ text: 'SELECT $1::int AS a, $2::int AS a', values: [1, 2], rowMode: 'array' })
  assert.deepEqual(r.rows, [[1, 2]])
  const o = await conn.query({ text: 'SELECT $1::int AS a, $2::int AS a', values: [1, 2] })
  assert.deepEqual(o.rows, [{ a: 2 }]) // as in pg: the later column wins
})

test('commands: rowCount and command from the tag', async () => {
  await conn.query('CREATE TEMP TABLE IF NOT EXISTS shapes (id int primary key, v text)')
  const ins = await conn.query('INSERT INTO shapes SELECT g, g::text FROM generate_series(1, 3) g ON CONFLICT DO NOTHING')
  assert.equal(ins.command, 'INSERT')
  assert.ok(ins.rowCount === 3 || ins.rowCount === 0) // temp tables are per session: the pool may give another
  const ddl = await conn.query('CREATE TEMP TABLE IF NOT EXISTS other (x int)')
  assert.equal(ddl.command, 'CREATE')
  assert.equal(ddl.rowCount, null)
  assert.deepEqual(ddl.rows, [])
})

test('transaction commits, and rolls back on throw', async () => {
  await conn.query('CREATE TABLE IF NOT EXISTS node_tx (id int primary key, v text)')
  await conn.query('TRUNCATE node_tx')
  const v = await conn.transaction(async (tx) => {
    await tx.query('INSERT INTO node_tx VALUES ($1, $2)', [1, 'one'])
    const seen = await tx.query('SELECT count(*)::int AS n FROM node_tx')
    return seen.rows[0].n
  })
  assert.equal(v, 1)
  await assert.rejects(conn.transaction(async (tx) => {
    await tx.query('INSERT INTO node_tx VALUES ($1, $2)', [2, 'two'])
    throw new Error('boom')
  }), /boom/)
  await assert.rejects(conn.transaction(async (tx) => {
    await tx.query('INSERT INTO node_tx VALUES (3, $1)', ['three'])
    await tx.query('INSERT INTO node_tx VALUES (3, $1)', ['again'])
  }), (e) => e instanceof lakelink.DatabaseError && e.code === '23505' && e.detail === 'Key (id)=(3) already exists.' &&
    e.hint === undefined)
  const r = await conn.query('SELECT id FROM node_tx ORDER BY id')
  assert.deepEqual(r.rows, [{ id: 1 }])
  const streamed = await conn.transaction(async (tx) => {
    const rows = []
    for await (const row of tx.stream('SELECT g FROM generate_series(1, 5) g', [], { batchSize: 2 })) rows.push(row.g)
    return rows
  })
  assert.deepEqual(streamed, [1, 2, 3, 4, 5])
})

test('stream yields every row in batches, and breaking out frees the session', async () => {
  let n = 0
  for await (const row of conn.stream('SELECT g FROM generate_series(1, 2500) g', [], { batchSize: 1000 })) {
    n++
    assert.equal(row.g, n)
  }
  assert.equal(n, 2500)
  for await (const row of conn.stream({ text: 'SELECT g FROM generate_series(1, 100000) g', rowMode: 'array' })) {
    assert.deepEqual(row, [1])
    break
  }
  const idle = conn.idleCount
  assert.ok(idle >= 1)
  assert.equal((await conn.query('SELECT 7 AS x')).rows[0].x, 7)
})

test('errors carry the SQLSTATE, the host and the user', async () => {
  await assert.rejects(conn.query('SELECT 1/0'), (e) => {
    assert.ok(e instanceof lakelink.DatabaseError && e instanceof Error)
    assert.equal(e.code, '22012')
    assert.match(e.message, /division by zero/)
    assert.match(e.message, new RegExp(`${info.lakebase.host}:${info.lakebase.port}`))
    assert.match(e.message, new RegExp(info.service_principal.client_id))
    return true
  })
  await assert.rejects(conn.query('SELEC 1'), (e) => e.code === '42601' && e.detail === undefined)
  await assert.rejects(conn.query('SELECT no_such_function_here(1)'), (e) => e.code === '42883' && /explicit type casts/.test(e.hint))
  await assert.rejects(conn.query('SELECT $1::text', ['nul \0 inside']), (e) => e.code === '22023' && /\$1/.test(e.message))
  await assert.rejects(conn.query('SELECT $1', [Symbol('x')]), (e) => e instanceof TypeError && /\$1/.test(e.message))
  await assert.rejects(conn.query({ values: [] }), TypeError)
  // the pool is still fine
  assert.equal((await conn.query('SELECT 1 AS ok')).rows[0].ok, 1)
})

test('a connection error says which host and why', async () => {
  await assert.rejects(lakelink.connect(lakebase(info), { Port: 1 }), (e) => {
    assert.ok(e instanceof lakelink.DatabaseError || e instanceof lakelink.LakelinkError)
    assert.match(e.message, /127\.0\.0\.1:1/)
    assert.match(e.message, /refused|connect/i)
    return true
  })
  await assert.rejects(lakelink.connect('Server=x;NoSuchKey=1'), (e) => e instanceof lakelink.ConnectionStringError &&
    e.code === 'LAKELINK_CONNECTION_STRING' && /NoSuchKey/i.test(e.message))
})

test('the event loop keeps ticking during a 2 s pg_sleep', async () => {
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 50)
  const t0 = Date.now()
  await conn.query('SELECT pg_sleep(2)')
  clearInterval(timer)
  const elapsed = Date.now() - t0
  assert.ok(elapsed >= 1900, `pg_sleep(2) took ${elapsed} ms`)
  assert.ok(ticks >= 25, `only ${ticks} ticks of a 50 ms timer in ${elapsed} ms`)
})

test('50 parallel queries run at once on the pool', async () => {
  const t0 = Date.now()
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => conn.query('SELECT pg_sleep(0.2), $1::int AS i', [i])))
  const elapsed = Date.now() - t0
  assert.deepEqual(rs.map((r) => r.rows[0].i), Array.from({ length: 50 }, (_, i) => i))
  assert.ok(elapsed < 3000, `50 × pg_sleep(0.2) took ${elapsed} ms (serial would be 10000)`)
  assert.ok(conn.totalCount <= 50)
})

test('MaxConnections bounds the pool: queries wait for a session', async () => {
  const small = await lakelink.connect(lakebase(info), { MaxConnections: 2, ApplicationName: 'node-small-pool' })
  try {
    const t0 = Date.now()
    await Promise.all(Array.from({ length: 6 }, () => small.query('SELECT pg_sleep(0.2)')))
    const elapsed = Date.now() - t0
    assert.ok(small.totalCount <= 2)
    assert.ok(elapsed >= 550, `6 × 0.2 s on 2 sessions took ${elapsed} ms`)
  } finally {
    await small.close()
  }
  await assert.rejects(small.query('SELECT 1'), (e) => e instanceof lakelink.InterfaceError && e.code === 'LAKELINK_CLOSED')
})

test('an AbortSignal cancels a running query on the server: AbortError with code 57014, the pool still fine', async () => {
  const one = await lakelink.connect(lakebase(info), { MaxConnections: 1, ApplicationName: 'node-abort' })
  try {
    const t0 = Date.now()
    const e = await one.query({ text: 'SELECT pg_sleep(5)', signal: AbortSignal.timeout(200) }).catch((err) => err)
    const elapsed = Date.now() - t0
    assert.equal(e.name, 'AbortError')
    assert.equal(e.code, '57014')
    assert.ok(e instanceof lakelink.DatabaseError)
    assert.equal(e.cause?.name, 'TimeoutError') // the signal's reason
    assert.ok(elapsed >= 190 && elapsed < 3000, `aborted after 200 ms, rejected after ${elapsed} ms`)
    // the same (only) session runs the next statements, none of them cancelled late
    for (let i = 0; i < 5; i++) assert.equal((await one.query('SELECT pg_sleep(0.05), $1::int AS i', [i])).rows[0].i, i)
    assert.equal(one.totalCount, 1)

    const ac = new AbortController()
    ac.abort(new Error('changed my mind'))
    await assert.rejects(one.query({ text: 'SELECT 1', signal: ac.signal }), /changed my mind/)
    const late = new AbortController()
    const aborted = one.query({ text: 'SELECT 1', signal: late.signal }) // holds the idle session already
    late.abort()
    await assert.rejects(aborted, { name: 'AbortError' })
    assert.equal(one.totalCount, 1) // the untouched session was kept, not closed
    assert.equal(one.idleCount, 1)

    // waiting for the only session: aborting ends the wait, the holder is untouched
    const holder = one.query('SELECT pg_sleep(0.5), 1 AS x')
    const waiter = new AbortController()
    const waiting = one.query({ text: 'SELECT 2', signal: waiter.signal })
    setTimeout(() => waiter.abort(), 100)
    await assert.rejects(waiting, { name: 'AbortError' })
    assert.equal(one.waitingCount, 0)
    assert.equal((await holder).rows[0].x, 1)

    const inTx = await one.transaction(async (tx) => {
      const err = await tx.query({ text: 'SELECT pg_sleep(5)', signal: AbortSignal.timeout(100) }).catch((x) => x)
      assert.equal(err.code, '57014')
      return 'rolled back'
    }).catch((x) => x)
    assert.ok(inTx instanceof lakelink.LakelinkError && /rollback/i.test(inTx.message), String(inTx)) // the cancelled statement failed the transaction
    assert.equal((await one.query('SELECT 3 AS y')).rows[0].y, 3)
    await assert.rejects(one.query({ text: 'SELECT 1', signal: 'nope' }), TypeError)
  } finally {
    await one.close()
  }
})

test('a waiter aborted while a session opens for it after a lost one: the session is kept, the pool serves on', async () => {
  const one = await lakelink.connect(lakebase(info), { MaxConnections: 1, ApplicationName: 'node-abort-open' })
  try {
    const ac = new AbortController()
    const holder = one.query('SELECT pg_sleep(0.2), pg_terminate_backend(pg_backend_pid())')
    const waiter = one.query({ text: 'SELECT 2 AS x', signal: ac.signal })
    // the holder's session is lost (57P01) and dropped, a new one opens for the waiter, which aborts meanwhile
    await assert.rejects(holder.catch((e) => { ac.abort(); throw e }), (e) => e.code === '57P01')
    await assert.rejects(waiter, { name: 'AbortError' })
    for (let i = 0; i < 50 && one.idleCount === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepEqual([one.totalCount, one.idleCount, one.waitingCount], [1, 1, 0])
    assert.equal((await one.query('SELECT 3 AS y')).rows[0].y, 3)
  } finally {
    await one.close()
  }
})

/** p, or a failure when it is not settled within ms (a hang). */
function within (p, ms, what) {
  let timer
  const hang = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not settled in ${ms} ms`)), ms) })
  return Promise.race([p, hang]).finally(() => clearTimeout(timer))
}

test('stream honours an AbortSignal: waiting, running and between batches; the session is kept', async () => {
  const one = await lakelink.connect(lakebase(info), { MaxConnections: 1, ApplicationName: 'node-stream-abort' })
  const drain = async (rows) => { for await (const row of rows) assert.ok(row) }
  try {
    const t0 = Date.now()
    const running = await drain(one.stream({ text: 'SELECT pg_sleep(5)', signal: AbortSignal.timeout(200) })).catch((e) => e)
    assert.equal(running.name, 'AbortError')
    assert.equal(running.code, '57014') // cancelled on the server
    assert.equal(running.cause?.name, 'TimeoutError')
    assert.ok(Date.now() - t0 < 3000, `aborted after 200 ms, ended after ${Date.now() - t0} ms`)
    assert.deepEqual([one.totalCount, one.idleCount], [1, 1])

    const ac = new AbortController()
    let n = 0
    const between = await (async () => {
      for await (const row of one.stream('SELECT g FROM generate_series(1, 50000000) g', [], { batchSize: 1000, signal: ac.signal })) {
        if (++n === 1500) ac.abort()
        assert.equal(row.g, n)
      }
    })().catch((e) => e)
    assert.equal(between.name, 'AbortError')
    assert.equal(n, 1500) // no row after the abort
    const t1 = Date.now()
    assert.equal((await within(one.query('SELECT 1 AS x'), 10000, 'the query after the aborted stream')).rows[0].x, 1)
    assert.ok(Date.now() - t1 < 3000, 'the statement of the aborted stream ran on')
    assert.equal(one.totalCount, 1)

    const holder = one.stream('SELECT g FROM generate_series(1, 10) g', [], { batchSize: 2 })
    await holder.next() // holds the only session
    const w = new AbortController()
    const waiting = one.stream('SELECT 1 AS g', [], { signal: w.signal }).next()
    setTimeout(() => w.abort(new Error('gave up waiting')), 100)
    await assert.rejects(waiting, /gave up waiting/)
    assert.equal(one.waitingCount, 0)
    await holder.return()
    assert.equal((await one.query('SELECT 2 AS x')).rows[0].x, 2)
    assert.throws(() => one.stream('SELECT 1', [], { signal: 'nope' }), TypeError)
  } finally {
    await one.close()
  }
})

test('transaction: a tx.stream() left open is closed when fn settles (commit and rollback)', async () => {
  const one = await lakelink.connect(lakebase(info), { MaxConnections: 1, ApplicationName: 'node-tx-stream' })
  try {
    await one.query('CREATE TABLE IF NOT EXISTS node_tx_stream (id int)')
    await one.query('TRUNCATE node_tx_stream')
    const first = await within(one.transaction(async (tx) => {
      await tx.query('INSERT INTO node_tx_stream VALUES (1)')
      const rows = tx.stream('SELECT g FROM generate_series(1, 100000) g', [], { batchSize: 100 })
      tx.stream('SELECT 1') // never read
      return (await rows.next()).value.g // the loop is left open
    }), 10000, 'transaction with an open stream')
    assert.equal(first, 1)
    assert.deepEqual((await one.query('SELECT id FROM node_tx_stream')).rows, [{ id: 1 }]) // committed

    const e = await within(one.transaction(async (tx) => {
      await tx.query('INSERT INTO node_tx_stream VALUES (2)')
      const rows = tx.stream('SELECT g FROM generate_series(1, 100000) g', [], { batchSize: 100 })
      await rows.next()
      throw new Error('boom')
    }).catch((err) => err), 10000, 'rolled back transaction with an open stream')
    assert.match(e.message, /boom/)
    assert.deepEqual((await one.query('SELECT id FROM node_tx_stream')).rows, [{ id: 1 }]) // rolled back
    assert.deepEqual([one.totalCount, one.idleCount], [1, 1])
  } finally {
    await one.query('DROP TABLE IF EXISTS node_tx_stream').catch(() => {})
    await one.close()
  }
})

test('close waits for running queries, then refuses; Symbol.asyncDispose closes', async () => {
  const c = await lakelink.connect(lakebase(info))
  const running = c.query('SELECT pg_sleep(0.3), 1 AS x')
  await new Promise((resolve) => setTimeout(resolve, 50))
  await c.close()
  assert.equal((await running).rows[0].x, 1)
  assert.equal(c.totalCount, 0)
  const d = await lakelink.connect(lakebase(info))
  await d[Symbol.asyncDispose]()
  await assert.rejects(d.query('SELECT 1'), /closed/)
})

test('int8 as bigint, or as string when asked', async () => {
  const big = '9223372036854775807'
  assert.equal((await conn.query(`SELECT ${big}::int8 AS v`)).rows[0].v, 9223372036854775807n)
  assert.equal((await conn.query({ text: `SELECT ${big}::int8 AS v, ARRAY[1::int8] AS a`, int8: 'string' })).rows[0].v, big)
  const s = await lakelink.connect(lakebase(info), {}, { int8: 'string' })
  try {
    const r = await s.query(`SELECT ${big}::int8 AS v, ARRAY[1::int8, NULL] AS a`)
    assert.deepEqual(r.rows[0], { v: big, a: ['1', null] })
  } finally {
    await s.close()
  }
})

test('no secret in inspect or errors of a connection', async () => {
  const secret = info.service_principal.client_secret
  for (const shown of [util.inspect(conn), String(conn), util.inspect(conn, { showHidden: true, depth: 5 })]) {
    assert.ok(!shown.includes(secret), shown)
    assert.match(shown, /OAuthClientSecret=\*\*\*/)
  }
  const e = await lakelink.connect(lakebase(info), { Port: 1 }).catch((err) => err)
  assert.ok(!util.inspect(e).includes(secret) && !e.message.includes(secret))
  const bad = await lakelink.connect(lakebase(info), { OAuthClientSecret: 'not-the-secret-xyz' }).catch((err) => err)
  assert.ok(bad instanceof Error)
  assert.ok(!util.inspect(bad).includes('not-the-secret-xyz'))
})

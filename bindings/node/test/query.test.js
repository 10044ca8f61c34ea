'use strict'
// query(): node-postgres's result shape, parameters, commands, errors with
// their SQLSTATE, cancellation by an AbortSignal, int8, and the event loop
// staying free; connect()'s errors and what inspect shows of a connection.
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

test('rowCount is null where the tag has no count; several statements give the last one\'s result', async () => {
  const set = await conn.query("SET application_name = 'rowcount'")
  assert.equal(set.command, 'SET')
  assert.equal(set.rowCount, null)
  const multi = await conn.query('CREATE TEMP TABLE IF NOT EXISTS multi_node (x int); INSERT INTO multi_node VALUES (1), (2)')
  assert.equal(multi.command, 'INSERT')
  assert.equal(multi.rowCount, 2)
  const sel = await conn.query("SELECT 1; SELECT x, ';' AS s FROM (VALUES (1), (2)) v (x) ORDER BY x")
  assert.deepEqual(sel.rows, [{ x: 1, s: ';' }, { x: 2, s: ';' }])
  assert.equal(sel.rowCount, 2)
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

'use strict'
// stream(): every row in batches, leaving the loop early, batchSize,
// and an AbortSignal while waiting, running and between batches.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const { emulator, lakebase, within } = require('./helpers')

let info
let conn
before(async () => {
  info = await emulator()
  conn = await lakelink.connect(lakebase(info))
})
after(() => conn.close())

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

test('stream: batchSize must be a whole number of rows', async () => {
  for (const batchSize of [0, 1.5, '2', -1, 2 ** 31]) {
    assert.throws(() => conn.stream('SELECT 1', [], { batchSize }), { name: 'TypeError', message: /batchSize/ })
  }
  const rows = []
  for await (const row of conn.stream('SELECT g FROM generate_series(1, 5) g', [], { batchSize: 2 })) rows.push(row.g)
  assert.deepEqual(rows, [1, 2, 3, 4, 5])
})

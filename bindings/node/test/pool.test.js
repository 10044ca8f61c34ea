'use strict'
// The Connection's pool of sessions: queries run in parallel up to
// MaxConnections and wait beyond it, a waiter that aborts while a session
// opens for it, and close().
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const { emulator, lakebase } = require('./helpers')

let info
let conn
before(async () => {
  info = await emulator()
  conn = await lakelink.connect(lakebase(info))
})
after(() => conn.close())

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

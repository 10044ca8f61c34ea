'use strict'
// Pool (and connect(), which resolves with one) over the core's pool:
// queries run in parallel up to max (MaxConnections) and wait beyond it,
// a waiter that aborts while a session opens for it, node-postgres's
// options, connect() and release(err), end(), and waiting acquires that
// hold up neither the event loop nor the threadpool.
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

test('50 parallel queries share the pool\'s sessions (MaxConnections, 10 unless given)', async () => {
  const t0 = Date.now()
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => conn.query('SELECT pg_sleep(0.2), $1::int AS i', [i])))
  const elapsed = Date.now() - t0
  assert.deepEqual(rs.map((r) => r.rows[0].i), Array.from({ length: 50 }, (_, i) => i))
  assert.ok(elapsed < 3000, `50 × pg_sleep(0.2) took ${elapsed} ms (serial would be 10000)`)
  assert.ok(conn.totalCount <= 10 && conn.totalCount > 1, `${conn.totalCount} sessions`)
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

test('a waiter aborted while the core looks for a session stops waiting at once; after a lost session the pool serves on', async () => {
  const one = await lakelink.connect(lakebase(info), { MaxConnections: 1, ApplicationName: 'node-abort-open' })
  try {
    const ac = new AbortController()
    // The holder's 2 s are well beyond the waits below, even on a loaded host: the waiter cannot get its session.
    const holder = one.query('SELECT pg_sleep(2), pg_terminate_backend(pg_backend_pid())')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const waiter = one.query({ text: 'SELECT 2 AS x', signal: ac.signal })
    // It moves to the core once no session came back for 100 ms, which a
    // timer checks every 100 ms (pool.js, STALL_MS): aborted before that,
    // it would leave nothing waiting in the core. 600 ms is well past.
    await new Promise((resolve) => setTimeout(resolve, 600))
    const t0 = Date.now()
    ac.abort()
    await assert.rejects(waiter, { name: 'AbortError' })
    assert.ok(Date.now() - t0 < 500, 'the aborted waiter waited on for the session')
    assert.equal(one.waitingCount, 0) // its acquire, still in the core, is not counted
    await assert.rejects(holder, (e) => e.code === '57P01') // the session is lost: the core drops it, opens one for the abandoned acquire, which gives it back
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

test('new Pool(connectionString, options): node-postgres\'s option names set the core\'s properties; bad values name the option', async () => {
  assert.throws(() => new lakelink.Pool(lakebase(info), { max: 0 }), { name: 'RangeError', message: /max 0: a whole number of sessions, at least 1/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { max: '5' }), { name: 'TypeError', message: /max must be a number/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { idleTimeoutMillis: 1.5 }), { name: 'RangeError', message: /idleTimeoutMillis/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { connectionTimeoutMillis: 0 }), { name: 'RangeError', message: /connectionTimeoutMillis 0/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { maxLifetimeSeconds: -1 }), { name: 'RangeError', message: /maxLifetimeSeconds/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { maxUsers: NaN }), { name: 'RangeError', message: /maxUsers/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { min: -1 }), { name: 'RangeError', message: /min -1/ })
  assert.throws(() => new lakelink.Pool(lakebase(info), { maxx: 5 }), { name: 'TypeError', message: /no option maxx/ })
  const shown = String(new lakelink.Pool({ connectionString: lakebase(info), max: 3, min: 1, idleTimeoutMillis: 1500, maxLifetimeSeconds: 60, connectionTimeoutMillis: 2500, maxUsers: 7 }))
  for (const p of ['MaxConnections=3', 'MinConnections=1', 'MaxIdleTime=1.5s', 'MaxLifetime=60', 'PoolTimeout=2.5s', 'MaxUsers=7']) assert.ok(shown.includes(p), `${p} in ${shown}`)
  assert.ok(!shown.includes(info.service_principal.client_secret))

  const pool = new lakelink.Pool(lakebase(info) + ';MaxConnections=9', { max: 2, connectionTimeoutMillis: 300 }) // the option wins
  try {
    const a = await pool.connect()
    const b = await pool.connect()
    assert.deepEqual([pool.totalCount, pool.idleCount], [2, 0])
    const t0 = Date.now()
    await assert.rejects(pool.query('SELECT 1'), (e) => e instanceof lakelink.LakelinkError && /MaxConnections|PoolTimeout/.test(e.message))
    const waited = Date.now() - t0
    assert.ok(waited >= 250 && waited < 3000, `waited ${waited} ms for a PoolTimeout of 300 ms`)
    a.release()
    b.release()
    assert.equal((await pool.query('SELECT 1 AS x')).rows[0].x, 1)
  } finally {
    await pool.end()
  }
})

test('pool.connect(): a client on one session until release(); release(err) closes the session instead', async () => {
  const pool = new lakelink.Pool(lakebase(info), { max: 1 })
  try {
    const c = await pool.connect()
    const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    await c.query('CREATE TEMP TABLE node_pool_client (x int)')
    const order = await Promise.all([1, 2, 3].map((i) => c.query('SELECT $1::int AS i', [i])))
    assert.deepEqual(order.map((r) => r.rows[0].i), [1, 2, 3])
    const waiting = pool.query('SELECT pg_backend_pid() AS pid') // waits for the only session
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(pool.waitingCount, 1)
    c.release()
    assert.throws(() => c.release(), /called already/)
    await assert.rejects(c.query('SELECT 1'), { code: 'LAKELINK_CLOSED' })
    assert.equal((await waiting).rows[0].pid, pid) // the core gave the same session back
    const d = await pool.connect()
    assert.equal((await d.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid)
    d.release(new Error('something went wrong with it'))
    const e = await pool.connect()
    const fresh = (await e.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    assert.notEqual(fresh, pid) // destroyed, as in node-postgres
    e.release(true)
    assert.notEqual((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, fresh)
  } finally {
    await pool.end()
  }
})

test('acquires waiting for a session do not hold up the event loop or the threadpool', async () => {
  const fs = require('node:fs/promises')
  const pool = new lakelink.Pool(lakebase(info), { max: 1 })
  try {
    const held = await pool.connect()
    const waiting = Array.from({ length: 200 }, (_, i) => pool.query('SELECT $1::int AS i', [i]))
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(pool.waitingCount, 200)
    const t0 = Date.now()
    await fs.readFile(__filename) // the threadpool is free: only half its threads wait in the core
    const other = new lakelink.Pool(lakebase(info), { max: 1 })
    assert.equal((await other.query('SELECT 5 AS x')).rows[0].x, 5) // another pool's statements find threads
    await other.end()
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms while 200 queries waited`)
    held.release()
    const rs = await Promise.all(waiting)
    assert.deepEqual(rs.map((r) => r.rows[0].i), Array.from({ length: 200 }, (_, i) => i))
  } finally {
    await pool.end()
  }
})

test('end() rejects the queries waiting for a session, waits for the clients out', async () => {
  const pool = new lakelink.Pool(lakebase(info), { max: 1 })
  const c = await pool.connect()
  const waiting = Array.from({ length: 40 }, () => pool.query('SELECT 1'))
  const settled = Promise.allSettled(waiting)
  await new Promise((resolve) => setTimeout(resolve, 50))
  let ended = false
  const end = pool.end().then(() => { ended = true })
  const queued = await Promise.allSettled(waiting.slice(32)) // beyond the 32 in the core (half the 64 threads): waited here, rejected at once
  assert.ok(queued.every((o) => o.status === 'rejected' && o.reason.code === 'LAKELINK_CLOSED'))
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(ended, false) // c is out
  assert.equal((await c.query('SELECT 2 AS x')).rows[0].x, 2)
  c.release()
  await end
  assert.ok((await settled).every((o) => o.status === 'rejected' && o.reason.code === 'LAKELINK_CLOSED'))
  assert.deepEqual([pool.totalCount, pool.idleCount, pool.waitingCount], [0, 0, 0])
  await assert.rejects(pool.connect(), { code: 'LAKELINK_CLOSED' })
})

test('end() right after queries (the pool opening, or open): they are refused as closed, the core pool closed after them', async () => {
  for (const warm of [false, true]) {
    const pool = new lakelink.Pool(lakebase(info), { max: 2 })
    if (warm) await pool.query('SELECT 1')
    const qs = Array.from({ length: 12 }, () => pool.query('SELECT 1').then(() => 'ok', (e) => e.code)) // some on the threadpool
    await pool.end()
    // Not LAKELINK_INVALID_HANDLE nor the core's "pool closed": the acquires were counted before end(), which waited for them.
    assert.deepEqual(await Promise.all(qs), Array(12).fill('LAKELINK_CLOSED'))
  }
})

test('a Pool is an EventEmitter, as node-postgres\'s: acquire, release, remove for connect()\'s clients; it logs in at first use', async () => {
  const bad = new lakelink.Pool(lakebase(info).replace(/OAuthClientSecret=[^;]*/, 'OAuthClientSecret=wrong'))
  assert.ok(bad instanceof require('node:events').EventEmitter)
  bad.on('error', () => assert.fail('no error event'))
  assert.deepEqual([bad.totalCount, bad.idleCount, bad.waitingCount], [0, 0, 0]) // nothing opened yet
  await assert.rejects(bad.query('SELECT 1'), lakelink.AuthError) // the login's failure is the first query's error
  await bad.end()

  const pool = new lakelink.Pool(lakebase(info), { max: 2 })
  const seen = []
  for (const name of ['connect', 'acquire', 'release', 'remove', 'error']) pool.on(name, (...args) => seen.push([name, ...args]))
  try {
    const c = await pool.connect()
    assert.deepEqual(seen, [['acquire', c]])
    c.release()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(seen.slice(1), [['release', undefined, c]])
    const d = await pool.connect()
    const err = new Error('broken')
    d.release(err)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(seen.slice(2), [['acquire', d], ['release', err, d], ['remove', d]])
    await pool.query('SELECT 1') // no client shown: no event
    assert.equal(seen.length, 5)
  } finally {
    await pool.end()
  }
})

test('the acquires waiting in the core are bounded process-wide by the threadpool: 4 pools on 4 threads give their sessions back', () => {
  const { spawnSync } = require('node:child_process')
  const script = `
    const lakelink = require(${JSON.stringify(require.resolve('..'))})
    const cs = ${JSON.stringify(lakebase(info))} + ';PoolTimeout=20s'
    const pools = Array.from({ length: 4 }, () => new lakelink.Pool(cs, { max: 1 }))
    const t0 = Date.now()
    Promise.all(pools.flatMap((p) => Array.from({ length: 12 }, (_, i) => p.query('SELECT pg_sleep(0.02), $1::int AS i', [i])))).then(async (rs) => {
      await Promise.all(pools.map((p) => p.end()))
      console.log(JSON.stringify({ n: rs.length, ms: Date.now() - t0 }))
    }, (e) => { console.error(String(e)); process.exit(1) })`
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '4' }, timeout: 60000 })
  assert.equal(r.status, 0, r.stderr)
  const { n, ms } = JSON.parse(r.stdout)
  console.log(`# 48 queries through 4 pools of 1 session on 4 threads: ${ms} ms`)
  assert.equal(n, 48)
  assert.ok(ms < 10000, `${ms} ms: sessions were not given back while acquires waited`)
})

test('pool.query with parameters runs on the sessions the core lends, slow statements spread over them; one with a signal hands its session to the next waiting; others go back to the core', async () => {
  const pool = new lakelink.Pool(lakebase(info), { max: 2 })
  try {
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.query('SELECT pg_backend_pid() AS pid, $1::int AS i, pg_sleep(0.05)', [i])))
    assert.deepEqual(ids.map((r) => r.rows[0].i), Array.from({ length: 12 }, (_, i) => i))
    assert.equal(new Set(ids.map((r) => r.rows[0].pid)).size, 2)
    const signal = new AbortController().signal // a query with a signal takes a session here: handed over while others wait
    const handed = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query({ text: 'SELECT $1::int AS i', values: [i], signal })))
    assert.deepEqual(handed.map((r) => r.rows[0].i), Array.from({ length: 20 }, (_, i) => i))
    // A statement without parameters may leave a transaction open: its session goes back to the core, which rolls it back.
    const [begun, after] = await Promise.all([pool.query('BEGIN'), pool.query('SELECT 1'), pool.query('SELECT $1::int', [1])])
    assert.equal(begun.command, 'BEGIN')
    assert.equal(after.rows.length, 1)
    const xacts = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.query('SELECT pg_backend_pid() AS pid, txid_current() AS x, $1::int AS i', [i])))
    const seen = xacts.map((r) => `${r.rows[0].pid} ${r.rows[0].x}`)
    assert.equal(new Set(seen).size, seen.length, `a session was handed over inside a transaction: ${seen}`)
    // A failed statement's session goes back to the core too; the waiting are served.
    const mixed = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => pool.query(i % 3 ? 'SELECT $1::int AS i' : 'SELECT 1 / ($1::int - $1::int)', [i])))
    assert.equal(mixed.filter((r) => r.status === 'rejected').length, 7)
    assert.deepEqual([pool.totalCount, pool.waitingCount], [2, 0])
  } finally {
    await pool.end()
  }
})

test('statements waiting for a session run several to a pipeline, each in its own transaction: one that fails fails alone', async () => {
  const session = require('../lib/session')
  const pipeline = session.poolPipeline
  const sizes = []
  session.poolPipeline = (p, token, sts, ...rest) => { // counts the pipelines pool.js runs
    sizes.push(sts.length)
    return pipeline(p, token, sts, ...rest)
  }
  const pool = new lakelink.Pool(lakebase(info), { max: 2 })
  try {
    await pool.query('CREATE TABLE node_pipe (id int PRIMARY KEY)')
    await pool.query('INSERT INTO node_pipe VALUES ($1)', [0])
    const insert = 'INSERT INTO node_pipe VALUES ($1) RETURNING id, txid_current()::text AS x, $2::int8 AS big'
    const rs = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => i % 10 === 5
      ? pool.query(insert, [0, i]) // a duplicate key
      : pool.query({ text: insert, values: [1000 + i, i], ...(i % 2 && { rowMode: 'array', int8: 'string' }) })))
    const failed = rs.filter((r) => r.status === 'rejected')
    assert.deepEqual(failed.map((r) => r.reason.code), Array(6).fill('23505'))
    assert.ok(failed.every((r) => r.reason instanceof lakelink.DatabaseError))
    const rows = rs.flatMap((r, i) => r.status === 'fulfilled' ? [[i, r.value.rows[0], r.value.command, r.value.rowCount]] : [])
    for (const [i, row, command, rowCount] of rows) {
      assert.deepEqual([command, rowCount], ['INSERT', 1])
      if (i % 2) assert.deepEqual([row[0], row[2]], [1000 + i, String(i)])
      else assert.deepEqual([row.id, row.big], [1000 + i, BigInt(i)])
    }
    const txids = rows.map(([i, row]) => i % 2 ? row[1] : row.x)
    assert.equal(new Set(txids).size, 54, 'each statement ran in a transaction of its own')
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM node_pipe')).rows[0].n, 55)
    assert.ok(sizes.some((n) => n > 1), `pipelines of ${sizes}`)
    assert.deepEqual([pool.totalCount, pool.waitingCount], [2, 0])
    // A value this binding cannot give (a date beyond Date's range) fails its own statement only.
    sizes.length = 0
    const far = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => i === 7
      ? pool.query("SELECT '290000-01-01'::timestamp + $1::int * interval '1 day' AS t", [i])
      : pool.query('SELECT $1::int AS i', [i])))
    assert.deepEqual(far.map((r) => r.status === 'fulfilled' ? r.value.rows[0].i : r.reason.name),
      Array.from({ length: 20 }, (_, i) => i === 7 ? 'RangeError' : i))
    assert.ok(sizes.length > 0, 'no pipeline ran')
  } finally {
    session.poolPipeline = pipeline
    await pool.query('DROP TABLE IF EXISTS node_pipe')
    await pool.end()
  }
})

test('end() rejects the statements waiting for a pipeline and waits for the one in flight', async () => {
  const pool = new lakelink.Pool(lakebase(info), { max: 1 })
  const qs = Array.from({ length: 20 }, (_, i) => pool.query('SELECT pg_sleep(0.2), $1::int AS i', [i]).then((r) => r.rows[0].i, (e) => e.code))
  for (let i = 0; i < 250 && pool.waitingCount !== 19; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(pool.waitingCount, 19) // one in flight, the others waiting for it
  await pool.end()
  assert.deepEqual(await Promise.all(qs), [0, ...Array(19).fill('LAKELINK_CLOSED')])
})

test('a pipeline that gets no session within PoolTimeout fails the statements waiting since before it left, with its error', async () => {
  const session = require('../lib/session')
  const poolPipeline = session.poolPipeline
  let sent = 0
  session.poolPipeline = (...args) => { sent++; return poolPipeline(...args) }
  const pool = new lakelink.Pool(lakebase(info), { max: 1, connectionTimeoutMillis: 300 })
  try {
    const held = await pool.connect()
    const qs = Array.from({ length: 5 }, (_, i) => pool.query('SELECT $1::int AS i', [i]).then(() => 'ran', (e) => e.message))
    const out = await Promise.all(qs)
    held.release()
    assert.ok(out.every((m) => /PoolTimeout/.test(m)), out.join('; '))
    assert.equal(sent, 2, 'the first pipeline failed those that came after it left; the second, the rest')
  } finally {
    session.poolPipeline = poolPipeline
    await pool.end()
  }
})

test('without a pipeline channel (Windows), the pipelines the core lends sessions for are calls', async () => {
  const native = require('../lib/native')
  const sockets = native.socketsAvailable
  native.socketsAvailable = false
  const pool = new lakelink.Pool(lakebase(info), { max: 3 })
  try {
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.query('SELECT $1::int AS i', [i])))
    assert.deepEqual(rs.map((r) => r.rows[0].i), Array.from({ length: 30 }, (_, i) => i))
    assert.ok(pool.totalCount <= 3 && pool.waitingCount === 0, `${pool.totalCount} sessions, ${pool.waitingCount} waiting`)
  } finally {
    native.socketsAvailable = sockets
    await pool.end()
  }
})

test('a query aborted while waiting in the binding for a session rejects with an AbortError; the process then exits', () => {
  const { spawnSync } = require('node:child_process')
  const script = `
    const lakelink = require(${JSON.stringify(require.resolve('..'))})
    const pool = new lakelink.Pool(${JSON.stringify(lakebase(info))}, { max: 1 })
    pool.connect().then(async (c) => {
      const ac = new AbortController()
      const waiting = pool.query({ text: 'SELECT $1::int', values: [1], signal: ac.signal }).catch((e) => e.name)
      setTimeout(() => ac.abort(), 20)
      console.log(await waiting)
      c.release()
      await pool.end()
    })`
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'AbortError')
  assert.ok(Date.now() - t0 < 10000)
})

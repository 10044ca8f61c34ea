'use strict'
// lakelink's caller threads (lib/caller.js): calls of every kind run on
// them, calls that find them busy or do not fit go to the threadpool, and a
// process that exits during long statements, or while a query waits for a
// session, does not wait for them, nor aborts when a caller is starting.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test, before, after } = require('node:test')
const { emulator, lakebase } = require('./helpers')
const native = require('../lib/native')
const params = require('../lib/params')
const { Callers, MAX_CALLERS, CALLS_BEFORE_CALLERS } = require('../lib/caller')
const { PROTOTYPES } = require('../lib/abi')

let info
let conn
before(async () => {
  info = await emulator()
  conn = await lakelink.connect(lakebase(info))
})
after(() => conn.close())

const index = (name) => PROTOTYPES.findIndex((p) => p.includes(`lakelink_${name}(`))

/** A call through callers once one of its threads is up (the first calls go to the threadpool, and those while they start). */
async function direct (callers, name, args) {
  for (let i = 0; i < 200; i++) {
    const p = callers.call(index(name), args)
    if (p) return p
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('no caller thread came up in 2 s')
}

test('callers start once CALLS_BEFORE_CALLERS calls were made, one for calls one at a time, the rest when one is busy; they make calls with every kind of argument and out-parameter; a busy set sends calls elsewhere', async () => {
  const callers = new Callers(native.lib().path)
  const out = [null]
  const err = [null]
  for (let i = 1; i < CALLS_BEFORE_CALLERS; i++) {
    assert.equal(callers.call(index('connstr_normalize'), ['Host=https://x.example.com', out, err]), null) // to the threadpool
  }
  assert.equal(callers.all.length, 0)
  assert.equal(callers.call(index('connstr_normalize'), ['Host=https://x.example.com', out, err]), null) // still: one starts now
  assert.equal(callers.all.length, 1) // nothing else in flight: one is enough
  assert.equal(await direct(callers, 'connstr_normalize', ['Host=https://x.example.com;Timeout=7', out, err]), 0)
  assert.match(native.takeString(out[0]), /Timeout=7/)
  const rc = await direct(callers, 'connstr_normalize', ['Bogus=1', out, err]) // a failure comes back as a status
  assert.throws(() => native.check(rc, err), /Bogus/)

  const h = [0]
  native.check(await native.callAsync(native.lib().connect, lakebase(info), h, err), err)
  const buf = params.encode([41])
  const outs = [[null], [null], [0], [null], [0], [0], [null]]
  assert.equal(await direct(callers, 'query', [h[0], 'SELECT $1::int + 1 AS n', buf, buf.length, 10, 'columnar', ...outs]), 0)
  const [cols, batch, len, tag, affected, result] = outs.map((o) => o[0])
  assert.deepEqual(JSON.parse(native.takeString(cols)).map((c) => c.name), ['n'])
  assert.equal(typeof batch, 'bigint')
  assert.ok(len > 0 && typeof len === 'number')
  native.free(batch)
  assert.equal(native.takeString(tag), 'SELECT 1')
  assert.equal(affected, 1)
  assert.equal(result, 0) // one row: the result is complete and closed

  assert.equal(callers.all.length, 1)
  // The rest start once a call finds the caller busy; MAX_CALLERS at most (the CPUs, up to 4): with each busy in a
  // statement, the next call is refused (it goes to the threadpool).
  const handles = []
  for (let i = 0; i < MAX_CALLERS; i++) {
    const hi = [0]
    native.check(await native.callAsync(native.lib().connect, lakebase(info), hi, err), err)
    handles.push(hi[0])
  }
  const sleeps = []
  for (const hi of handles) {
    const o = [[null], [null], [0], [null], [0], [0], [null]]
    sleeps.push(direct(callers, 'query', [hi, 'SELECT pg_sleep(2)', null, 0, 10, 'columnar', ...o]).then((rc) => {
      for (const p of [o[0][0], o[1][0], o[3][0]]) native.free(p)
      return rc
    }))
  }
  for (let i = 0; i < 150 && !(callers.all.length === MAX_CALLERS && callers.all.every((c) => c.busy)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10)) // each caller takes its statement as its library is loaded
  }
  assert.equal(callers.all.filter((c) => c.busy).length, MAX_CALLERS)
  assert.equal(callers.call(index('connstr_normalize'), ['Host=https://x.example.com', out, err]), null)
  assert.deepEqual(await Promise.all(sleeps), Array(MAX_CALLERS).fill(0))
  for (const hi of [h[0], ...handles]) native.check(await native.callAsync(native.lib().close, hi, err), err)
})

test('callers start all at once when the calls that reach the threshold run at once', async () => {
  const callers = new Callers(native.lib().path)
  const args = () => ['Host=https://x.example.com', [null], [null]]
  for (let i = 1; i < CALLS_BEFORE_CALLERS; i++) assert.equal(callers.call(index('connstr_normalize'), args()), null)
  let done
  const running = callers.track(new Promise((resolve) => { done = resolve })) // a call on the threadpool, in flight
  assert.equal(callers.call(index('connstr_normalize'), args()), null)
  assert.equal(callers.all.length, MAX_CALLERS)
  done()
  await running
  assert.equal(callers.inFlight, 0)
})

test('a statement too large for a caller thread goes to the threadpool, whole', async () => {
  const big = 'x'.repeat(600 * 1024) // over the 256 KiB a caller carries
  const r = await conn.query('SELECT length($1::text) AS n, $2::text AS tail', [big, 'é'.repeat(3)])
  assert.deepEqual(r.rows, [{ n: big.length, tail: 'ééé' }])
  const sql = `SELECT '${big}'::text AS s`
  assert.equal((await conn.query(sql)).rows[0].s.length, big.length)
})

test('a process that exits during long statements exits at once: they are cancelled, on caller threads and the threadpool alike', () => {
  const script = `
    const lakelink = require(${JSON.stringify(require.resolve('..'))})
    lakelink.connect(${JSON.stringify(lakebase(info))}).then(async (c) => {
      for (let i = 0; i < 50; i++) await c.query('SELECT 1') // a caller thread is up
      for (let i = 0; i < 6; i++) c.query('SELECT pg_sleep(60)').catch(() => {}) // more than the callers
      setTimeout(() => { console.log('exiting'); process.exit(3) }, 500)
    })`
  const start = Date.now()
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 })
  const elapsed = Date.now() - start
  assert.equal(r.stdout.trim(), 'exiting', r.stderr)
  assert.equal(r.status, 3, r.stderr)
  assert.ok(elapsed < 10000, `the exit took ${elapsed} ms`)
})

test('a process that exits while a query waits for a session exits at once and cleanly', () => {
  const script = `
    const lakelink = require(${JSON.stringify(require.resolve('..'))})
    const pool = new lakelink.Pool(${JSON.stringify(lakebase(info))}, { max: 1, connectionTimeoutMillis: 20000 })
    ;(async () => {
      for (let i = 0; i < 20; i++) await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]) // caller threads are up
      const held = await pool.connect() // the only session
      pool.query('SELECT 2').catch(() => {}) // waits in the core for it, up to 20 s
      setTimeout(() => { console.log('exiting'); process.exit(3) }, 300)
    })()`
  const start = Date.now()
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 })
  const elapsed = Date.now() - start
  assert.equal(r.stdout.trim(), 'exiting', r.stderr)
  assert.equal(r.status, 3, r.stderr)
  assert.doesNotMatch(r.stderr, /FATAL/)
  assert.ok(elapsed < 10000, `the exit took ${elapsed} ms`)
})

test('a process that exits while a caller thread loads the library exits cleanly', () => {
  // The caller thread's library load is made long (each function is
  // defined many times over, in koffi) and the process exits as it
  // begins: Node stops worker threads at exit, and koffi, stopped inside,
  // aborts the process (FATAL ERROR: Error::ThrowAsJavaScriptException).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lakelink-node-exit-'))
  const preload = path.join(dir, 'slow-caller.js')
  fs.writeFileSync(preload, `
    const { isMainThread, workerData } = require('node:worker_threads')
    const channel = new BroadcastChannel('lakelink-slow-caller')
    channel.unref()
    if (isMainThread) {
      channel.onmessage = () => { console.log('exiting'); process.exit(3) }
    } else if (workerData?.lakelinkCaller) {
      const koffi = require(${JSON.stringify(require.resolve('koffi'))})
      const load = koffi.load
      koffi.load = (file) => {
        const handle = load(file)
        return {
          func: (proto) => {
            channel.postMessage('loading')
            for (let i = 0; i < 2000; i++) handle.func(proto)
            return handle.func(proto)
          }
        }
      }
    }`)
  const script = `
    const lakelink = require(${JSON.stringify(require.resolve('..'))})
    const pool = new lakelink.Pool(${JSON.stringify(lakebase(info))})
    ;(async () => {
      for (let i = 0; i < ${CALLS_BEFORE_CALLERS}; i++) await pool.query('SELECT 1') // the callers start
      setTimeout(() => {}, 20000)
    })()`
  const r = spawnSync(process.execPath, ['-r', preload, '-e', script], { encoding: 'utf8', timeout: 30000 })
  fs.rmSync(dir, { recursive: true })
  assert.equal(r.stdout.trim(), 'exiting', r.stderr)
  assert.equal(r.status, 3, r.stderr)
  assert.doesNotMatch(r.stderr, /FATAL/)
})

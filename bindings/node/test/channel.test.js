'use strict'
// The pipeline channel (lib/channel.js): pipelines on sessions a core pool
// lends, written to the library's socket and answered on it, answers
// larger than a socket read, several pipelines at once, the library's
// errors (a user token's never shown), and a process that ends by itself
// once no pipeline is pending.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { test, before } = require('node:test')
const { emulator, lakebase } = require('./helpers')
const session = require('../lib/session')
const { socketsAvailable } = require('../lib/native')
const { statement } = require('../lib/statement')

const OPTS = { int8: 'bigint' }

let info
before(async () => { info = await emulator() })

/** Runs statements sts over the channel on a session that core pool p lends (of the user whose token is, or its own). */
const lent = (p, sts, token = null) => session.poolPipeline(p, token, sts, OPTS, false)

test('a pipeline\'s answers of many socket reads come whole; pipelines run at once, each on a session lent', { skip: !socketsAvailable }, async () => {
  const p = await session.poolOpen(lakebase(info))
  try {
    const big = statement('SELECT g, repeat(\'x\', 20) AS s FROM generate_series(1, $1::int) g', [300000])
    const small = statement('SELECT $1::int + 1 AS n', [41])
    const [first, ...rest] = await Promise.all([0, 1, 2, 3].map((i) => lent(p, i === 0 ? [small, big, small] : [small])))
    assert.equal(first[0].result.rows[0].n, 42)
    const rows = first[1].result.rows
    assert.equal(rows.length, 300000)
    assert.deepEqual([rows[0], rows[299999]], [{ g: 1, s: 'x'.repeat(20) }, { g: 300000, s: 'x'.repeat(20) }])
    assert.equal(first[2].result.rows[0].n, 42)
    assert.deepEqual(rest.map((o) => o[0].result.rows[0].n), [42, 42, 42])

    const sleeps = [statement('SELECT pg_sleep($1::float8 / 1000)', [1000])]
    const t0 = performance.now()
    await Promise.all([0, 1, 2, 3].map(() => lent(p, sleeps)))
    const ms = performance.now() - t0
    assert.ok(ms < 3000, `four 1 s pipelines took ${ms} ms, as if one after another`)
    assert.equal(session.poolStats(p).acquired, 0)
  } finally {
    await session.poolClose(p)
  }
})

test('the library\'s error for a pipeline comes back as its rejection; the channel goes on', { skip: !socketsAvailable }, async () => {
  const p = await session.poolOpen(lakebase(info))
  try {
    await assert.rejects(lent(p, [statement('SELECT $1::int', [1])], 'not-a-user-token'),
      (e) => e instanceof lakelink.LakelinkError && !e.message.includes('not-a-user-token'))
    const [o] = await lent(p, [statement('SELECT $1::int AS n', [5])])
    assert.equal(o.result.rows[0].n, 5)
  } finally {
    await session.poolClose(p)
  }
  await assert.rejects(lent(p, [statement('SELECT $1::int', [1])]),
    (e) => e.code === 'LAKELINK_INVALID_HANDLE' && /unknown or closed/.test(e.message))
})

test('a process ends by itself once its pipelines are answered (the channel does not hold it)', { skip: !socketsAvailable }, () => {
  const script = `
    const lakelink = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const pool = new lakelink.Pool(process.env.CS, { max: 1 })
    Promise.all([1, 2, 3].map((i) => pool.query('SELECT $1::int AS i', [i])))
      .then((rs) => { console.log(rs.map((r) => r.rows[0].i).join(',')); return pool.end() })`
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, CS: lakebase(info) }, timeout: 30000 })
  assert.equal(out.toString().trim(), '1,2,3')
})

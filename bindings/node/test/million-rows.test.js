'use strict'
// Streaming a million rows in bounded memory, and fetching them whole.
const lakelink = require('..')
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const { emulator, lakebase } = require('./helpers')

const SQL = 'SELECT g::int8 AS id, g * 0.5::float8 AS x, md5(g::text) AS t, ' +
  "'2020-01-01'::timestamptz + g * interval '1 second' AS ts, g::numeric / 100 AS n FROM generate_series(1, 1000000) g"
const MB = 1024 * 1024

let conn
before(async () => { conn = await lakelink.connect(lakebase(await emulator())) })
after(() => conn.close())

test('stream: 1M rows with bounded memory', async () => {
  global.gc?.()
  const base = process.memoryUsage()
  let peakRss = base.rss
  let peakHeap = base.heapUsed
  let n = 0
  let sum = 0n
  const t0 = Date.now()
  for await (const row of conn.stream(SQL, [], { batchSize: 5000 })) {
    n++
    sum += row.id
    if (n % 50000 === 0) {
      const m = process.memoryUsage()
      peakRss = Math.max(peakRss, m.rss)
      peakHeap = Math.max(peakHeap, m.heapUsed)
    }
  }
  const seconds = (Date.now() - t0) / 1000
  assert.equal(n, 1000000)
  assert.equal(sum, 500000500000n)
  const rss = (peakRss - base.rss) / MB
  const heap = (peakHeap - base.heapUsed) / MB
  console.log(`# stream 1M rows: ${seconds.toFixed(2)} s, peak RSS +${rss.toFixed(0)} MB, peak heap +${heap.toFixed(0)} MB`)
  assert.ok(heap < 150, `the heap grew by ${heap.toFixed(0)} MB while streaming`)
  assert.ok(rss < 300, `RSS grew by ${rss.toFixed(0)} MB while streaming`)
})

test('query: 1M rows at once', async () => {
  const t0 = Date.now()
  const r = await conn.query(SQL)
  const seconds = (Date.now() - t0) / 1000
  assert.equal(r.rowCount, 1000000)
  assert.equal(r.rows.length, 1000000)
  const last = r.rows[999999]
  assert.equal(last.id, 1000000n)
  assert.equal(last.x, 500000)
  assert.equal(last.n, '10000.0000000000000000') // every digit of the scale
  assert.deepEqual(last.ts, new Date(Date.UTC(2020, 0, 1) + 1000000 * 1000))
  console.log(`# query 1M rows: ${seconds.toFixed(2)} s, heap ${(process.memoryUsage().heapUsed / MB).toFixed(0)} MB`)
})

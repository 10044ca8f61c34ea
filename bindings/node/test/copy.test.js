'use strict'
// copyFrom() and copyTo(): COPY FROM STDIN as a Writable, COPY TO STDOUT as a
// Readable, used as pg-copy-streams' streams are (pipeline in, pipe out), in
// autocommit and in a transaction, with aborts and server errors.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const { Readable, Writable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { emulator, lakebase } = require('./helpers')

let pool // a Pool, for its transaction()
let conn // a Client: one session of its own
let cs
before(async () => {
  cs = lakebase(await emulator())
  pool = await lakelink.connect(cs)
  conn = new lakelink.Client(cs)
  await conn.connect()
  await conn.query('DROP TABLE IF EXISTS copy_node; CREATE TABLE copy_node (id int, s text)')
})
after(async () => {
  await conn.query('DROP TABLE IF EXISTS copy_node')
  await conn.end()
  await pool.close()
})

function collect () {
  const chunks = []
  const sink = new Writable({ write (chunk, _enc, cb) { chunks.push(chunk); cb() } })
  return { sink, text: () => Buffer.concat(chunks).toString() }
}

test('copyFrom: a pipeline into the Writable, then rowCount; copyTo: piped out, whole rows', async () => {
  const lines = function * () {
    for (let i = 1; i <= 20000; i++) yield `${i}\trow ${i}\n`
  }
  const into = conn.copyFrom('COPY copy_node FROM STDIN')
  await pipeline(Readable.from(lines()), into)
  assert.equal(into.rowCount, 20000)
  const r = await conn.query('SELECT count(*)::int AS n, sum(id)::text AS s FROM copy_node')
  assert.deepEqual(r.rows, [{ n: 20000, s: '200010000' }])

  const out = conn.copyTo('COPY (SELECT id, s FROM copy_node ORDER BY id) TO STDOUT')
  const { sink, text } = collect()
  await pipeline(out, sink)
  assert.equal(out.rowCount, 20000)
  const got = text().split('\n')
  assert.equal(got.length, 20001)
  assert.equal(got[0], '1\trow 1')
  assert.equal(got[19999], '20000\trow 20000')
})

test('an error in the source aborts the COPY; a bad value fails it with the server\'s error', async () => {
  const failing = Readable.from((function * () { yield '50000\tx\n'; throw new Error('source broke') })())
  await assert.rejects(pipeline(failing, conn.copyFrom('COPY copy_node FROM STDIN')), /source broke/)
  await assert.rejects(pipeline(Readable.from(['x\ty\n']), conn.copyFrom('COPY copy_node FROM STDIN')),
    (e) => e.code === '22P02')
  const r = await conn.query('SELECT count(*)::int AS n FROM copy_node WHERE id = 50000')
  assert.equal(r.rows[0].n, 0)
  await assert.rejects(pipeline(conn.copyTo('COPY no_such_table_node TO STDOUT'), collect().sink),
    (e) => e.code === '42P01')
  assert.equal((await conn.query('SELECT 1 AS one')).rows[0].one, 1)
})

test('a COPY the server ends early (a bad row, no such table) fails with its error while data still comes; destroy() rolls back', async () => {
  const many = function * (bad) {
    for (let i = 1; i <= 100000; i++) yield i === bad ? 'not a number\tx\n' : `${70000 + i}\tmany\n`
  }
  await assert.rejects(pipeline(Readable.from(many(10)), conn.copyFrom('COPY copy_node FROM STDIN')), (e) => e.code === '22P02')
  await assert.rejects(pipeline(Readable.from(many(0)), conn.copyFrom('COPY no_such_table_node FROM STDIN')), (e) => e.code === '42P01')
  const into = conn.copyFrom('COPY copy_node FROM STDIN')
  into.write('80001\tdestroyed\n')
  await new Promise((resolve) => into.write('80002\tdestroyed\n', resolve))
  into.destroy(new Error('changed my mind'))
  await assert.rejects(new Promise((resolve, reject) => { into.on('close', resolve); into.on('error', reject) }), /changed my mind/)
  const r = await conn.query("SELECT count(*)::int AS n FROM copy_node WHERE s IN ('many', 'destroyed')")
  assert.equal(r.rows[0].n, 0)
})

test('where there is no COPY socket (Windows), copyFrom feeds the COPY through calls, with the same outcomes', async () => {
  const native = require('../lib/native')
  const sockets = native.socketsAvailable
  native.socketsAvailable = false
  try {
    const into = conn.copyFrom('COPY copy_node FROM STDIN')
    await pipeline(Readable.from(['90001\tcalls\n', '90002\tcalls\n']), into)
    assert.equal(into.rowCount, 2)
    await assert.rejects(pipeline(Readable.from(['90003\tcalls\n', 'bad\tcalls\n']), conn.copyFrom('COPY copy_node FROM STDIN')),
      (e) => e.code === '22P02')
    const aborted = conn.copyFrom('COPY copy_node FROM STDIN')
    await new Promise((resolve) => aborted.write('90004\tcalls\n', resolve))
    aborted.destroy() // as pg-copy-streams': the server's answer to the abort is the stream's error
    await assert.rejects(new Promise((resolve, reject) => { aborted.on('close', resolve); aborted.on('error', reject) }),
      (e) => e.code === '57014')
  } finally {
    native.socketsAvailable = sockets
  }
  const r = await conn.query("SELECT array_agg(id ORDER BY id)::text AS ids FROM copy_node WHERE s = 'calls'")
  assert.equal(r.rows[0].ids, '{90001,90002}')
})

test('a copyFrom left unfinished does not hold the process', () => {
  const script = `
    const lakelink = require(${JSON.stringify(require('node:path').resolve(__dirname, '..'))})
    const client = new lakelink.Client(process.env.CS)
    client.connect().then(async () => {
      await client.query('CREATE TEMP TABLE t (id int)')
      const into = client.copyFrom('COPY t FROM STDIN')
      into.write('1\\n', () => console.log('written'))
    })`
  const out = require('node:child_process').execFileSync(process.execPath, ['-e', script], { env: { ...process.env, CS: cs }, timeout: 30000 })
  assert.equal(out.toString().trim(), 'written')
})

test('in a transaction, and a copyTo left early', async () => {
  await pool.transaction(async (tx) => {
    const into = tx.copyFrom('COPY copy_node FROM STDIN')
    await pipeline(Readable.from(['60000\tin tx\n']), into)
    assert.equal(into.rowCount, 1)
    throw new Error('roll back')
  }).catch((e) => assert.match(e.message, /roll back/))
  assert.equal((await conn.query('SELECT count(*)::int AS n FROM copy_node WHERE id = 60000')).rows[0].n, 0)

  const out = conn.copyTo('COPY (SELECT generate_series(1, 200000)) TO STDOUT')
  for await (const chunk of out) {
    assert.ok(chunk.length > 0)
    break // destroys the stream: the rest is dropped
  }
  assert.equal((await conn.query('SELECT 2 AS two')).rows[0].two, 2)
})

'use strict'
// transaction(fn): commit, rollback on throw, statements and streams
// inside it, and a tx.stream() left open when fn settles.
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

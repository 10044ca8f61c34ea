'use strict'
// Lost sessions: after PostgreSQL restarts, each dead session fails the one
// query that meets it, with a clear error, and is dropped; fresh sessions
// then serve the next queries. (Sessions are checked only when used: the
// core's pool pings a session idle for over a second, the Connection does
// not ping those it holds.)
const lakelink = require('..')
const assert = require('node:assert/strict')
const { test } = require('node:test')
const { emulator, lakebase } = require('./helpers')

test('after a PostgreSQL restart, dead sessions fail once each and the pool recovers', async () => {
  const info = await emulator()
  const conn = await lakelink.connect(lakebase(info), { ApplicationName: 'node-recovery' }) // a core pool of its own
  try {
    await Promise.all(Array.from({ length: 4 }, () => conn.query('SELECT pg_sleep(0.05)')))
    const sessions = conn.totalCount
    const r = await fetch(`${info.admin_url}/postgres/restart`, { method: 'POST', headers: { 'Content-Type': 'application/json' } })
    assert.equal(r.status, 204)
    let failures = 0
    let ok = 0
    for (let i = 0; ok < 5 && i < 20; i++) {
      try {
        assert.equal((await conn.query('SELECT $1::int AS i', [i])).rows[0].i, i)
        ok++
      } catch (e) {
        assert.equal(ok, 0, 'a failure after the pool recovered')
        assert.ok(e instanceof lakelink.DatabaseError, e.stack)
        assert.match(e.message, new RegExp(`lakebase ${info.lakebase.host}:${info.lakebase.port} \\(user `))
        failures++
      }
    }
    assert.equal(ok, 5)
    console.log(`# after the restart: ${failures} failed queries for ${sessions} sessions, then ${ok} in a row`)
    assert.ok(failures <= sessions, `${failures} failures for ${sessions} sessions`)
  } finally {
    await conn.close()
  }
})

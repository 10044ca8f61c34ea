'use strict'
// lib/pgconfig.js, which pgConfig and postgresConfig of both entries share:
// when a kept credential is renewed (the core's rule), one renewal at a
// time, the old credential while a renewal fails before it expires, and
// the TLS options of each sslmode. Then node-postgres's query(config,
// values) shape on lakelink's Pool, which Drizzle's driver uses.
const lakelink = require('..')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const test = require('node:test')
const { renewalTime, Password, sslOf } = require('../lib/pgconfig')
const { emulator, lakebase } = require('./helpers')

test('renewalTime: a quarter of the lifetime ahead of expiry, at most 5 minutes; never without an expiry', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z')
  assert.equal(renewalTime(new Date(t0 + 3600e3), t0), t0 + 3300e3)
  assert.equal(renewalTime(new Date(t0 + 8e3), t0), t0 + 6e3)
  assert.equal(renewalTime(new Date(t0 - 1), t0), t0 - 1)
  assert.equal(renewalTime(null, t0), Infinity)
})

/** A Password over a fetch that counts its calls and answers with credential(n) (or fails when fail says). */
function counted (credential) {
  const calls = { n: 0, fail: false }
  const password = new Password(async () => {
    const n = ++calls.n
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (calls.fail) throw new Error('minting failed')
    return credential(n)
  })
  return { calls, password }
}

test('Password: kept until its renewal time, one renewal for many callers', async () => {
  const { calls, password } = counted((n) => ({ password: `p${n}`, expires_at: new Date(Date.now() + 400) })) // renewed 100 ms ahead
  assert.deepEqual(await Promise.all(Array.from({ length: 20 }, () => password.get())), Array(20).fill('p1'))
  assert.equal(calls.n, 1)
  assert.equal(await password.get(), 'p1')
  assert.equal(calls.n, 1)
  await new Promise((resolve) => setTimeout(resolve, 320))
  assert.deepEqual(await Promise.all(Array.from({ length: 20 }, () => password.get())), Array(20).fill('p2'))
  assert.equal(calls.n, 2)
})

test('Password: a failed renewal gives the kept credential until it expires, then the error', async () => {
  const expiry = Date.now() + 200
  const { calls, password } = counted((n) => ({ password: `p${n}`, expires_at: new Date(expiry) }))
  assert.equal(await password.get(), 'p1') // renewal due at once (a quarter of 200 ms ahead)
  calls.fail = true
  assert.equal(await password.get(), 'p1')
  await new Promise((resolve) => setTimeout(resolve, 250))
  await assert.rejects(password.get(), /minting failed/)
})

test('Password: without an expiry, never renewed', async () => {
  const { calls, password } = counted((n) => ({ password: `p${n}`, expires_at: null }))
  await password.get()
  await password.get()
  assert.equal(calls.n, 1)
})

test('sslOf: each sslmode', async () => {
  const info = await emulator()
  const pem = fs.readFileSync(info.lakebase.ca_file, 'utf8')
  assert.equal(sslOf({ sslmode: 'disable' }), false)
  for (const mode of ['allow', 'prefer', 'require']) assert.deepEqual(sslOf({ sslmode: mode, sslrootcert: info.lakebase.ca_file }), { rejectUnauthorized: false })
  const full = sslOf({ sslmode: 'verify-full', sslrootcert: info.lakebase.ca_file, sslrootcert_pem: '' })
  assert.equal(full.rejectUnauthorized, true)
  assert.ok(full.secureContext)
  assert.equal(full.checkServerIdentity, undefined)
  assert.ok(sslOf({ sslmode: 'verify-full', sslrootcert: '', sslrootcert_pem: pem }).secureContext)
  assert.deepEqual(sslOf({ sslmode: 'verify-full', sslrootcert: 'system', sslrootcert_pem: '' }), { rejectUnauthorized: true }) // Node's own roots
  const ca = sslOf({ sslmode: 'verify-ca', sslrootcert: info.lakebase.ca_file, sslrootcert_pem: '' })
  assert.equal(ca.checkServerIdentity('other.example', {}), undefined)
  assert.throws(() => sslOf({ sslmode: 'bogus' }), TypeError)
})

test('lakebaseCredential and pgConfig from the native library', async () => {
  const info = await emulator()
  const c = await lakelink.lakebaseCredential(lakebase(info))
  assert.equal(c.user, info.service_principal.client_id)
  assert.equal(c.sslmode, 'verify-full')
  assert.equal(c.sslrootcert, info.lakebase.ca_file)
  assert.ok(c.expires_at instanceof Date)
  const config = await lakelink.pgConfig(lakebase(info), { Database: 'otherdb', ApplicationName: 'node-pgconfig' })
  assert.deepEqual({ ...config, password: typeof config.password, ssl: typeof config.ssl },
    { host: c.host, port: c.port, database: 'otherdb', user: c.user, password: 'function', ssl: 'object', application_name: 'node-pgconfig' })
  assert.equal(await config.password(), c.password)
  const pjs = await lakelink.postgresConfig({ connectionString: lakebase(info), ApplicationName: 'node-pgconfig' })
  assert.equal(pjs.username, c.user)
  assert.deepEqual(pjs.connection, { application_name: 'node-pgconfig' })
})

test("Pool.query(config, values): the values beside a config are its values, as node-postgres's (Drizzle's driver passes them so)", async () => {
  const info = await emulator()
  const pool = new lakelink.Pool(lakebase(info), { max: 1 })
  try {
    const r = await pool.query({ text: 'SELECT $1::int AS a, $2::text AS b', rowMode: 'array', name: 'ignored', types: {} }, [1, 'x'])
    assert.deepEqual(r.rows, [[1, 'x']])
    const c = await pool.connect()
    try {
      assert.deepEqual((await c.query({ text: 'SELECT $1::int AS a', values: [1] }, [2])).rows, [{ a: 2 }])
      assert.deepEqual((await c.query({ text: 'SELECT $1::int AS a', values: [3] })).rows, [{ a: 3 }])
    } finally {
      c.release()
    }
  } finally {
    await pool.end()
  }
})

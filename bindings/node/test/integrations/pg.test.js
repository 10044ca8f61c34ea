'use strict'
// node-postgres (pg) with lakelink's login: new pg.Pool(await pgConfig(...))
// and new pg.Client(...), from require('lakelink') and require('lakelink/wasm').

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const pg = require('pg')
const { emulator, entries, acrossExpiry, stats } = require('./common')
const { configsFor } = require('../../lib/pgconfig')

test('pg', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(`${name}: pg.Pool over pgConfig lives across credential expiries`, async () => {
      const config = await lakelink.pgConfig(conn)
      assert.equal(config.user, info.service_principal.client_id)
      assert.equal(typeof config.password, 'function')
      const pool = new pg.Pool({ ...config, max: 4, idleTimeoutMillis: 500 })
      try {
        await acrossExpiry(info, async () => {
          const rows = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.query('SELECT $1::int AS i, current_user AS who', [i])))
          assert.deepEqual(rows.map((r) => r.rows[0].i), [0, 1, 2, 3, 4, 5, 6, 7])
          assert.equal(rows[0].rows[0].who, info.service_principal.client_id)
        })
      } finally {
        await pool.end()
      }
    })

    await t.test(`${name}: pg.Client over pgConfig, with overrides`, async () => {
      const client = new pg.Client(await lakelink.pgConfig(conn, { ApplicationName: 'pg-client-test' }))
      await client.connect()
      try {
        const { rows } = await client.query("SELECT current_setting('application_name') AS app, current_setting('ssl_library', true) AS ssl")
        assert.equal(rows[0].app, 'pg-client-test')
      } finally {
        await client.end()
      }
    })

    await t.test(`${name}: lakebaseCredential, and no secret in what pgConfig and postgresConfig give`, async () => {
      const c = await lakelink.lakebaseCredential(conn)
      assert.equal(c.user, info.service_principal.client_id)
      assert.ok(c.expires_at instanceof Date && c.expires_at > new Date(), `expires_at ${c.expires_at}`)
      assert.ok(c.password.length > 0)
      for (const config of [await lakelink.pgConfig(conn), await lakelink.postgresConfig(conn)]) {
        const password = await config.password()
        assert.equal(password, c.password) // the core's cached one
        for (const shown of [util.inspect(config, { depth: 10, showHidden: true }), JSON.stringify(config), String(config)]) {
          assert.ok(!shown.includes(password), shown)
        }
      }
      assert.ok(!util.inspect(c).includes(c.password))
    })

    await t.test(`${name}: a wrong connection fails at pgConfig, without a secret in the error`, async () => {
      const secret = 'not-the-secret-' + Math.random().toString(36).slice(2)
      const wrong = `Host=${info.workspace_url};OAuthClientId=${info.service_principal.client_id};OAuthClientSecret=${secret};` +
        `Server=${info.lakebase.host};Port=${info.lakebase.port};Instance=${info.lakebase.instance}`
      await assert.rejects(lakelink.pgConfig(wrong), (e) => {
        assert.ok(e instanceof lakelink.AuthError, util.inspect(e))
        assert.ok(!util.inspect(e).includes(secret))
        return true
      })
    })
  }
})

test('pg: many sessions opening at once share one credential', async () => {
  const info = await emulator()
  const { lakelink, conn } = entries(info)[1] // the wasm module answers one call at a time: the case that matters most
  let asked = 0 // calls into the module, counted around the entry's own lakebaseCredential
  const { pgConfig } = configsFor((c) => { asked++; return lakelink.lakebaseCredential(c) })
  const config = await pgConfig(conn)
  const before = await stats(info)
  const pool = new pg.Pool({ ...config, max: 10 })
  try {
    await Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT pg_sleep(0.05)')))
    assert.equal(pool.totalCount, 10)
  } finally {
    await pool.end()
  }
  const after = await stats(info)
  assert.ok(after.gateway_logins.accepted - before.gateway_logins.accepted >= 10)
  assert.equal(asked, 1) // the login pgConfig made: its credential served the 10 sessions
})

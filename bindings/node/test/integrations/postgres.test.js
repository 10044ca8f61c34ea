'use strict'
// Postgres.js with lakelink's login: postgres(await postgresConfig(...)).

const test = require('node:test')
const assert = require('node:assert/strict')
const postgres = require('postgres')
const { emulator, entries, acrossExpiry } = require('./common')

test('Postgres.js over postgresConfig', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(`${name}: lives across credential expiries`, async () => {
      const config = await lakelink.postgresConfig(conn, { ApplicationName: 'postgresjs-test' })
      const sql = postgres({ ...config, max: 4, idle_timeout: 0.5 })
      try {
        await acrossExpiry(info, async () => {
          const rows = await Promise.all(Array.from({ length: 8 }, (_, i) => sql`SELECT ${i}::int AS i, current_user AS who, current_setting('application_name') AS app`))
          assert.deepEqual(rows.map((r) => r[0].i), [0, 1, 2, 3, 4, 5, 6, 7])
          assert.equal(rows[0][0].who, info.service_principal.client_id)
          assert.equal(rows[0][0].app, 'postgresjs-test')
        })
        const n = await sql.begin(async (tx) => {
          await tx`CREATE TEMP TABLE t (i int)`
          await tx`INSERT INTO t VALUES (1), (2)`
          return (await tx`SELECT count(*)::int AS n FROM t`)[0].n
        })
        assert.equal(n, 2)
      } finally {
        await sql.end()
      }
    })
  }
})

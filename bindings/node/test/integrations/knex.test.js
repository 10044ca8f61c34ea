'use strict'
// Knex (client 'pg') with lakelink's login: connection: await pgConfig(...).

const test = require('node:test')
const assert = require('node:assert/strict')
const knex = require('knex')
const { emulator, entries, acrossExpiry } = require('./common')

test('Knex over pgConfig', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(name, async () => {
      const db = knex({ client: 'pg', connection: await lakelink.pgConfig(conn), pool: { min: 0, max: 2, idleTimeoutMillis: 500, reapIntervalMillis: 100 } })
      const table = `knex_${name}`
      try {
        await db.schema.dropTableIfExists(table)
        await db.schema.createTable(table, (t) => {
          t.increments('id')
          t.string('body').notNullable()
        })
        await acrossExpiry(info, async () => {
          await db(table).insert({ body: 'a row' })
          const [{ who }] = await db.select(db.raw('current_user AS who'))
          assert.equal(who, info.service_principal.client_id)
        })
        await db.transaction(async (trx) => {
          await trx(table).insert({ body: 'in a transaction' })
        })
        assert.deepEqual((await db(table).select('body').orderBy('id')).map((r) => r.body), ['a row', 'a row', 'in a transaction'])
      } finally {
        await db.schema.dropTableIfExists(table).catch(() => {})
        await db.destroy()
      }
    })
  }
})

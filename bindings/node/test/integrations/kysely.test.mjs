// Kysely's PostgresDialect with lakelink's login (a pg.Pool over
// pgConfig), and directly over lakelink's own Pool, which it takes for a
// pg.Pool (it calls connect(), query and release). Kysely is an ES module.

import test from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { Kysely, PostgresDialect, sql } from 'kysely'
import common from './common.js'

const { emulator, entries, acrossExpiry, lakelink, helpers } = common

/** Creates the table, then inserts, selects and runs a transaction (which rolls back when it throws). */
async function exercise (db, tag) {
  await sql`CREATE TABLE IF NOT EXISTS kysely_notes (id serial PRIMARY KEY, body text NOT NULL)`.execute(db)
  await db.deleteFrom('kysely_notes').where('body', '=', tag).execute()
  const inserted = await db.insertInto('kysely_notes').values({ body: tag }).executeTakeFirst()
  assert.equal(inserted.numInsertedOrUpdatedRows, 1n)
  await assert.rejects(db.transaction().execute(async (trx) => {
    await trx.insertInto('kysely_notes').values({ body: tag }).execute()
    throw new Error('roll back')
  }), /roll back/)
  await db.transaction().execute((trx) => trx.insertInto('kysely_notes').values({ body: tag }).execute())
  const rows = await db.selectFrom('kysely_notes').select(['id', 'body']).where('body', '=', tag).execute()
  assert.equal(rows.length, 2)
  const updated = await db.updateTable('kysely_notes').set({ body: tag }).where('body', '=', tag).executeTakeFirst()
  assert.equal(updated.numUpdatedRows, 2n)
}

test('Kysely (PostgresDialect) over a pg.Pool with pgConfig', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(name, async () => {
      const config = await lakelink.pgConfig(conn)
      const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...config, max: 2, idleTimeoutMillis: 500 }) }) })
      try {
        await acrossExpiry(info, () => exercise(db, `kysely ${name}`))
      } finally {
        await db.destroy()
      }
    })
  }
})

test('Kysely (PostgresDialect) directly over lakelink.Pool', async () => {
  const info = await emulator()
  const db = new Kysely({ dialect: new PostgresDialect({ pool: new lakelink.Pool(helpers.lakebase(info), { max: 2, idleTimeoutMillis: 500 }) }) })
  try {
    await acrossExpiry(info, () => exercise(db, 'kysely over lakelink.Pool'))
  } finally {
    await db.destroy()
  }
})

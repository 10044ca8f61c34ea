'use strict'
// Drizzle's node-postgres driver with lakelink's login (a pg.Pool over
// pgConfig), and directly over lakelink's own Pool, which it takes for a
// pg.Pool (it calls connect(), query and release).

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { drizzle } = require('drizzle-orm/node-postgres')
const { eq, sql } = require('drizzle-orm')
const { pgTable, serial, text, timestamp } = require('drizzle-orm/pg-core')
const { emulator, entries, acrossExpiry, lakelink, helpers } = require('./common')

const notes = pgTable('drizzle_notes', {
  id: serial('id').primaryKey(),
  body: text('body').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow()
})

/** Creates the table, then inserts, selects and runs a transaction (which rolls back when it throws). */
async function exercise (db, tag) {
  await db.execute(sql`CREATE TABLE IF NOT EXISTS drizzle_notes (id serial PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL DEFAULT now())`)
  await db.delete(notes).where(eq(notes.body, tag))
  const [row] = await db.insert(notes).values({ body: tag }).returning()
  assert.equal(row.body, tag)
  assert.ok(row.at instanceof Date && Math.abs(row.at - Date.now()) < 60000, String(row.at))
  await assert.rejects(db.transaction(async (tx) => {
    await tx.insert(notes).values({ body: tag })
    throw new Error('roll back')
  }), /roll back/)
  await db.transaction(async (tx) => {
    await tx.insert(notes).values({ body: tag })
  })
  const rows = await db.select().from(notes).where(eq(notes.body, tag))
  assert.equal(rows.length, 2)
}

test('Drizzle (node-postgres) over a pg.Pool with pgConfig', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(name, async () => {
      const pool = new pg.Pool({ ...await lakelink.pgConfig(conn), max: 2, idleTimeoutMillis: 500 })
      const db = drizzle({ client: pool })
      try {
        await acrossExpiry(info, () => exercise(db, `drizzle ${name}`))
      } finally {
        await pool.end()
      }
    })
  }
})

test('Drizzle (node-postgres) directly over lakelink.Pool', async () => {
  const info = await emulator()
  const pool = new lakelink.Pool(helpers.lakebase(info), { max: 2, idleTimeoutMillis: 500 })
  const db = drizzle({ client: pool })
  try {
    await acrossExpiry(info, () => exercise(db, 'drizzle over lakelink.Pool'))
  } finally {
    await pool.end()
  }
})

'use strict'
// TypeORM (type 'postgres', over pg) with lakelink's login: its username
// is pgConfig's user, and its password may be pgConfig's function.

require('reflect-metadata')
const test = require('node:test')
const assert = require('node:assert/strict')
const { DataSource, EntitySchema } = require('typeorm')
const { emulator, entries, acrossExpiry } = require('./common')

const Note = new EntitySchema({
  name: 'TypeormNote',
  tableName: 'typeorm_notes',
  columns: {
    id: { type: Number, primary: true, generated: true },
    body: { type: String }
  }
})

test('TypeORM over pgConfig', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(name, async () => {
      const { user, ...config } = await lakelink.pgConfig(conn)
      const ds = new DataSource({
        type: 'postgres',
        ...config,
        username: user,
        entities: [Note],
        synchronize: true,
        extra: { max: 2, idleTimeoutMillis: 500 }
      })
      await ds.initialize()
      try {
        const notes = ds.getRepository(Note)
        await notes.clear()
        await acrossExpiry(info, async () => {
          await notes.save({ body: `${name}: a note` })
          const [{ who }] = await ds.query('SELECT current_user AS who')
          assert.equal(who, info.service_principal.client_id)
        })
        await ds.transaction(async (m) => { await m.save(Note, { body: 'in a transaction' }) })
        assert.equal(await notes.count(), 3)
      } finally {
        await ds.destroy()
      }
    })
  }
})

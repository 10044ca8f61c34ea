'use strict'
// Prisma 7 over node-postgres (@prisma/adapter-pg) with lakelink's login:
// new PrismaClient({ adapter: new PrismaPg(await pgConfig(...)) }). The
// client is generated from prisma/schema.prisma by `make test-node` (see
// the Makefile: Prisma's CLI wants its schema engine before `generate`,
// which does not run it).

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { PrismaPg } = require('@prisma/adapter-pg')
const { PrismaClient } = require(path.join(__dirname, 'prisma', 'generated'))
const { emulator, entries, acrossExpiry } = require('./common')

test('Prisma with @prisma/adapter-pg over pgConfig', async (t) => {
  const info = await emulator()
  for (const { name, lakelink, conn } of entries(info)) {
    await t.test(name, async () => {
      const adapter = new PrismaPg({ ...await lakelink.pgConfig(conn), max: 2, idleTimeoutMillis: 500 })
      const prisma = new PrismaClient({ adapter })
      try {
        await prisma.$executeRawUnsafe('CREATE TABLE IF NOT EXISTS prisma_notes (id serial PRIMARY KEY, body text NOT NULL)')
        await prisma.prismaNote.deleteMany({ where: { body: { startsWith: name } } })
        await acrossExpiry(info, async () => {
          await prisma.prismaNote.create({ data: { body: `${name}: a note` } })
          const notes = await prisma.prismaNote.findMany({ where: { body: { startsWith: name } } })
          assert.ok(notes.length >= 1)
        })
        const [who] = await prisma.$queryRaw`SELECT current_user AS who`
        assert.equal(who.who, info.service_principal.client_id)
        const done = await prisma.$transaction(async (tx) => {
          await tx.prismaNote.create({ data: { body: `${name}: in a transaction` } })
          return tx.prismaNote.count({ where: { body: { startsWith: name } } })
        })
        assert.equal(done, 3)
      } finally {
        await prisma.$disconnect()
      }
    })
  }
})

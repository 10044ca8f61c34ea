'use strict'
// pool.asUser(tokenOrRequest) against the emulator with the app's user
// authorization on (--app-user-scopes, test/helpers.js): users added by
// POST /_emulator/users, their tokens as the app receives them
// (X-Forwarded-Access-Token), a table with a row-level security policy on
// current_user made by the server's administrator. Each user sees only
// their rows; 200 users through a pool of maxUsers 20 under interleaved
// concurrent queries never see another's, and the server's sessions stay
// within the bound.
const lakelink = require('..') // first: it sizes the libuv threadpool before anything uses it
const assert = require('node:assert/strict')
const { test, before, after } = require('node:test')
const util = require('node:util')
const { emulator, lakebase, adminConnectionString, addUser, forwardedToken } = require('./helpers')

const USERS = 200
const ROWS_PER_USER = 2
const email = (i) => `node-u${i}@example.com`

let info
let admin
let tokens // the app's forwarded token of each user, by index
before(async () => {
  info = await emulator()
  admin = new lakelink.Client(adminConnectionString(info))
  await admin.connect()
  tokens = []
  for (let i = 0; i < USERS; i += 20) {
    tokens.push(...await Promise.all(Array.from({ length: 20 }, async (_, j) => forwardedToken(info, (await addUser(info, email(i + j))).access_token))))
  }
  await admin.query('DROP TABLE IF EXISTS node_rls')
  await admin.query('CREATE TABLE node_rls (owner text NOT NULL, v int NOT NULL)')
  await admin.query('INSERT INTO node_rls SELECT $1 || u || $2, u * 10 + k FROM generate_series(0, $3::int - 1) u, generate_series(1, $4::int) k',
    ['node-u', '@example.com', USERS, ROWS_PER_USER])
  await admin.query('ALTER TABLE node_rls ENABLE ROW LEVEL SECURITY')
  await admin.query('CREATE POLICY own_rows ON node_rls USING (owner = current_user)')
  await admin.query('GRANT SELECT ON node_rls TO PUBLIC')
})
after(async () => {
  await admin.query('DROP TABLE IF EXISTS node_rls')
  await admin.end()
})

/** Checks that the rows a user read are theirs, all of them. */
function mine (rows, i) {
  assert.deepEqual(rows.map((r) => [r.owner, r.me, r.v]), Array.from({ length: ROWS_PER_USER }, (_, k) => [email(i), email(i), i * 10 + k + 1]))
}

const MINE = 'SELECT owner, v, current_user AS me FROM node_rls ORDER BY v'

test('each user sees only their rows through pool.asUser (a token or a request); the App\'s own identity sees none', async () => {
  const pool = new lakelink.Pool(lakebase(info))
  try {
    mine((await pool.asUser(tokens[0]).query(MINE)).rows, 0)
    mine((await pool.asUser({ headers: { 'x-forwarded-access-token': tokens[1] } }).query(MINE)).rows, 1) // an Express req
    mine((await pool.asUser(new Request(info.app_url, { headers: { 'X-Forwarded-Access-Token': tokens[2] } })).query(MINE)).rows, 2)
    const c = await pool.asUser(tokens[3]).connect()
    mine((await c.query(MINE)).rows, 3)
    c.release()
    const inTx = await pool.asUser(tokens[4]).transaction(async (tx) => (await tx.query(MINE)).rows)
    mine(inTx, 4)
    const streamed = []
    for await (const row of pool.asUser(tokens[5]).stream(MINE)) streamed.push(row)
    mine(streamed, 5)
    assert.deepEqual((await pool.query('SELECT count(*)::int AS n FROM node_rls')).rows, [{ n: 0 }]) // the service principal owns no row
  } finally {
    await pool.end()
  }
})

test('a bad user token is a clear error that never shows the token', async () => {
  const pool = new lakelink.Pool(lakebase(info))
  try {
    const forged = tokens[0].slice(0, -8) + 'AAAAAAAA' // its signature broken
    const e = await pool.asUser(forged).query('SELECT 1').catch((err) => err)
    assert.ok(e instanceof lakelink.AuthError && e.code === 'LAKELINK_AUTH', String(e)) // the workspace refused it
    console.log(`# a forged token: ${e.name} ${e.code}: ${e.message}`)
    for (const text of [e.message, util.inspect(e)]) assert.ok(!text.includes(forged) && !text.includes(forged.slice(-40)), text)
    const garbage = 'not-a-token-at-all-0123456789'
    const g = await pool.asUser(garbage).query('SELECT 1').catch((err) => err)
    assert.ok(g instanceof lakelink.AuthError && g.code === 'LAKELINK_AUTH' && !g.message.includes(garbage), String(g))
    for (const [value, words] of [[` ${tokens[0]} `, /the value has spaces/], [`Bearer ${tokens[0]}`, /starts with "Bearer "/],
      [`${tokens[0]},${tokens[1]}`, /comma-separated list/], [`${tokens[0]}"`, /cannot have \(at byte \d+\)/]]) {
      const s = await pool.asUser(value).query('SELECT 1').catch((err) => err) // the core's rule, at the acquire
      assert.ok(s instanceof lakelink.InterfaceError && s.code === 'LAKELINK_INVALID_ARGUMENT' && words.test(s.message), String(s))
      for (const text of [s.message, util.inspect(s)]) assert.ok(!text.includes(tokens[0].slice(-40)), text)
    }
    mine((await pool.asUser(tokens[6]).query(MINE)).rows, 6) // the pool serves on
  } finally {
    await pool.end()
  }
})

test(`${USERS} users, maxUsers 20, 16 queries at once interleaved: never another user's rows, server sessions within the bound`, async () => {
  const MAX_USERS = 20
  const MAX_USER_CONNECTIONS = 2 // the core's default
  const CONCURRENCY = 16
  const QUERIES = 2000
  const pool = new lakelink.Pool(lakebase(info), { maxUsers: MAX_USERS })
  let peak = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const r = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE 'node-u%'")
      peak = Math.max(peak, r.rows[0].n)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  try {
    let next = 0
    let seed = 12345
    const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
    const t0 = Date.now()
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < QUERIES) {
        next++
        const i = Math.floor(random() * USERS)
        mine((await pool.asUser(tokens[i]).query(MINE)).rows, i)
      }
    }))
    const elapsed = Date.now() - t0
    sampling = false
    await sampler
    const bound = MAX_USERS * MAX_USER_CONNECTIONS + CONCURRENCY // an evicted user's session in use ends after its query
    console.log(`# ${QUERIES} queries as ${USERS} users in ${elapsed} ms; peak server sessions of the users ${peak} (bound ${bound})`)
    assert.ok(peak <= bound, `${peak} sessions of the users on the server, bound ${bound}`)
  } finally {
    sampling = false
    await sampler
    await pool.end()
  }
  let left
  for (let i = 0; i < 100; i++) {
    left = (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE 'node-u%'")).rows[0].n
    if (left === 0) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.equal(left, 0, 'sessions left after end()')
})

test('a user\'s acquires that will not wait (the token took a session, none held) and those that will (MaxUserConnections=1, one held) each get the user\'s session', async () => {
  const pool = new lakelink.Pool(lakebase(info) + ';MaxUserConnections=1')
  try {
    const user = pool.asUser(tokens[8])
    for (let i = 0; i < 20; i++) mine((await user.query(MINE)).rows, 8) // past the first calls: on a caller thread
    const c = await user.connect()
    let done = 0
    const waiting = Array.from({ length: 5 }, () => user.query(MINE).then((r) => { done++; return r }))
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(done, 0) // the user's one session is held
    mine((await pool.asUser(tokens[9]).query(MINE)).rows, 9) // another user is not held up
    c.release()
    for (const r of await Promise.all(waiting)) mine(r.rows, 8) // each given the session in turn
  } finally {
    await pool.end()
  }
})

test('app.asUser calls the app as the user', async () => {
  const app = new lakelink.App(info.app_url, lakebase(info))
  const r = await app.asUser(tokens[7]).fetch('/api/whoami')
  assert.equal((await r.json()).email, email(7))
  assert.equal((await (await app.fetch('/api/whoami')).json()).email, info.service_principal.client_id) // the app's own identity
})

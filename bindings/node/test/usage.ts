// Checked by `tsc --noEmit -p test` (make test-node): the declarations in
// index.d.ts describe how the package is used.
import type { IncomingMessage } from 'node:http'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  connect, Pool, Client, userToken, App, token, getOAuthAuthorizationUrl, getOAuthAccessToken, refreshOAuthAccessToken,
  DatabaseError, AppError, AuthError, LakelinkError, type Connection, type PoolClient, type UserPool, type QueryResult,
  type Interval, type Token, type CopyFromStream, type CopyToStream, lakebaseCredential, pgConfig, postgresConfig, type LakebaseCredential, type PgConfig, type PostgresConfig
} from 'lakelink'
import * as wasm from 'lakelink/wasm'

interface Item { id: number, name: string }

export async function lakebase (cs: string): Promise<number> {
  const conn: Connection = await connect(cs, { MaxConnections: 10, ApplicationName: 'usage' }, { int8: 'string' })
  const r: QueryResult<Item> = await conn.query<Item>('SELECT id, name FROM items WHERE id > $1', [10])
  const first: Item | undefined = r.rows[0]
  const arrays = await conn.query({ text: 'SELECT 1, now()', values: [], rowMode: 'array' })
  await conn.query({ text: 'SELECT pg_sleep(5)', signal: AbortSignal.timeout(200) }).catch((e: unknown) => e)
  const cell = arrays.rows[0][1]
  if (cell instanceof Date) cell.getUTCFullYear()
  const n: number | null = r.rowCount
  const cmd: string | null = r.command
  const types: number[] = r.fields.map((f) => f.dataTypeID)
  const total = await conn.transaction(async (tx) => {
    await tx.query('INSERT INTO items (name) VALUES ($1)', ['x'])
    for await (const row of tx.stream<{ g: number }>('SELECT g FROM generate_series(1, 3) g')) row.g.toFixed()
    return (await tx.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0].n
  })
  for await (const row of conn.stream<Item>('SELECT * FROM items', [], { batchSize: 500 })) row.name.toUpperCase()
  const iv: Interval = { months: 1, days: 2, microseconds: 3 }
  await conn.query('SELECT $1::interval, $2::jsonb, $3::bytea, $4::int8, $5::timestamptz, $6::int[]',
    [`${iv.months} mons`, { a: [1, 2] }, Buffer.from('x'), 1n, new Date(), [1, null, 3]])
  try {
    await conn.query('SELECT 1/0')
  } catch (e) {
    if (e instanceof DatabaseError) console.log(e.code, e.detail, e.hint, e.message)
  }
  {
    await using scoped = await connect(cs)
    await scoped.query('SELECT 1')
  }
  console.log(first, cmd, types, total, conn.totalCount, conn.idleCount, conn.waitingCount)
  await conn.close()
  return n ?? 0
}

export async function pools (cs: string): Promise<number> {
  const pool = new Pool(cs, { max: 10, min: 1, idleTimeoutMillis: 60000, maxLifetimeSeconds: 3600, connectionTimeoutMillis: 5000, maxUsers: 20 })
  const alsoPool = new Pool({ connectionString: cs, max: 2, int8: 'string' })
  const { rows } = await pool.query<Item>('SELECT id, name FROM items WHERE id > $1', [1])
  pool.on('error', (e: Error) => console.error(e)).on('acquire', (c: PoolClient) => c).on('release', (err, c: PoolClient) => [err, c])
  const client: PoolClient = await pool.connect()
  try {
    await client.query('UPDATE items SET name = $1 WHERE id = $2', ['y', 1])
    for await (const row of client.stream<Item>('SELECT * FROM items')) row.id.toFixed()
    client.release()
  } catch (e) {
    client.release(e instanceof Error ? e : true)
  }
  const counts: number[] = [pool.totalCount, pool.idleCount, pool.waitingCount]
  await pool.end()
  await alsoPool.end()

  const one = new Client(cs, { int8: 'string' })
  await one.connect()
  const r: QueryResult<{ now: Date }> = await one.query<{ now: Date }>('SELECT now()')
  await one.end()
  {
    await using scoped = new Client({ connectionString: cs })
    await scoped.connect()
  }
  return rows.length + counts.length + r.rows.length
}

export async function copy (cs: string, sink: Writable): Promise<number | null> {
  const client = new Client(cs)
  await client.connect()
  const into: CopyFromStream = client.copyFrom('COPY items (id, name) FROM STDIN')
  await pipeline(Readable.from(['1\ta\n', Buffer.from('2\tb\n')]), into)
  const copied: number | null = into.rowCount
  const out: CopyToStream = client.copyTo('COPY (SELECT id, name FROM items) TO STDOUT')
  await pipeline(out, sink)
  await client.end()
  const pool = new Pool(cs)
  const held: PoolClient = await pool.connect()
  for await (const block of held.copyTo('COPY items TO STDOUT WITH (FORMAT csv)')) (block as Buffer).toString()
  held.release()
  const inTx = await pool.transaction(async (tx) => {
    const w = tx.copyFrom('COPY items (name) FROM STDIN')
    w.end('x\n')
    await new Promise((resolve, reject) => w.on('finish', resolve).on('error', reject))
    return w.rowCount
  })
  await pool.end()
  return (copied ?? 0) + (out.rowCount ?? 0) + (inTx ?? 0)
}

export async function onBehalfOfUsers (pool: Pool, app: App, req: IncomingMessage, request: Request): Promise<unknown> {
  let token: string
  try {
    token = userToken(req)
  } catch (e) {
    if (e instanceof AuthError) return e.message // user authorization is off
    throw e
  }
  const asUser: UserPool = pool.asUser(token)
  const mine = await asUser.query<{ v: number }>('SELECT v FROM rows_with_rls')
  const fromRequest = await pool.asUser(request).query('SELECT current_user')
  const fromExpress = pool.asUser({ headers: { 'x-forwarded-access-token': token } })
  const c = await fromExpress.connect()
  await c.query('SELECT 1')
  c.release()
  const total = await asUser.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0].n)
  const r: Response = await app.asUser(req).fetch('/api/whoami')
  const t: string = userToken(request.headers)
  return [mine.rows[0]?.v, fromRequest.rowCount, total, await r.json(), t.length]
}

export async function apps (appUrl: string, cs: string): Promise<unknown> {
  const app = new App(appUrl, { connectionString: cs })
  const inApp = new App(appUrl) // DATABRICKS_* injected
  const withProps = new App(appUrl, { Host: 'https://h', OAuthClientId: 'id', OAuthClientSecret: 's' })
  const t: Token = await token({ connectionString: cs })
  const bearer: string = `Bearer ${t.accessToken}`
  const when: Date | null = t.expiresAt
  try {
    const r: Response = await app.fetch('/api/echo', { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'Content-Type': 'application/json' } })
    return await r.json()
  } catch (e) {
    if (e instanceof AppError) console.log(e.status, e.kind, e.diagnosis, e.response?.status)
    else if (e instanceof LakelinkError) console.log(e.code)
  } finally {
    console.log(bearer.length, when, await inApp.token(), withProps.url)
  }
}

export async function oauth (host: string): Promise<string> {
  const a = await getOAuthAuthorizationUrl({ Host: host }, { callbackUrl: 'http://localhost:8020' })
  const t = await getOAuthAccessToken(`Host=${host}`, { verifier: a.URL, pkceVerifier: a.PKCEVerifier, callbackUrl: 'http://localhost:8020' })
  const r = await refreshOAuthAccessToken({ Host: host }, { refreshToken: t.OAuthRefreshToken })
  return r.OAuthAccessToken + a.State
}

export async function otherDrivers (cs: string): Promise<string> {
  const login: LakebaseCredential = await lakebaseCredential({ connectionString: cs, ApplicationName: 'usage' })
  const expires: number = login.expires_at?.getTime() ?? Infinity
  const pg: PgConfig = await pgConfig(cs, { Database: 'other' })
  const password: string = await pg.password()
  const pjs: PostgresConfig = await postgresConfig(cs)
  const fromWasm: PgConfig = await wasm.pgConfig({ connectionString: cs, SSLServerCert: '-----BEGIN CERTIFICATE-----...' })
  const w: wasm.LakebaseCredential = await wasm.lakebaseCredential(cs)
  const ssl = pg.ssl === false ? 'off' : String(pg.ssl.rejectUnauthorized)
  // node-postgres's query(config, values) shape, which Drizzle's driver uses on a Pool it is given
  await new Pool(cs).query({ text: 'SELECT $1::int', rowMode: 'array' }, [1])
  return `${login.user}${expires}${password.length}${pjs.username}${fromWasm.host}${w.sslmode}${ssl}`
}

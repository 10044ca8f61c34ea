// The Node side of `make demo`: require('lakelink') (bindings/node) against the emulator.
//
// An App call with the service principal, an outsider's call failing with
// lakelink's diagnosis, then Lakebase: a parameterized query with
// node-postgres's result shape, a transaction, a stream, and 20 queries at
// once while the event loop keeps ticking.
//
// Usage (from the checkout, as build/demo.sh runs it):
//     UV_THREADPOOL_SIZE=64 node build/demo/demo.js emulator.json
'use strict'
const lakelink = require('../../bindings/node')
const fs = require('node:fs')
const util = require('node:util')

async function main (stateFile) {
  const info = JSON.parse(fs.readFileSync(stateFile, 'utf8'))
  const m2m = (who) => `Host=${info.workspace_url};OAuthClientId=${info[who].client_id};OAuthClientSecret=${info[who].client_secret}`
  const sp = m2m('service_principal')
  const lb = info.lakebase
  const lakebase = `${sp};Server=${lb.host};Port=${lb.port};Instance=${lb.instance};SSLMode=verify-full;SSLServerCert=${lb.ca_file}`
  console.log(`    lakelink for Node over liblakelink ${lakelink.libraryVersion()}`)

  console.log("    await new App(appUrl, {connectionString: 'Host=...;OAuthClientId=...;OAuthClientSecret=...'}).fetch('/api/whoami')")
  const r = await new lakelink.App(info.app_url, { connectionString: sp }).fetch('/api/whoami')
  console.log(`      -> ${r.status} ${r.headers.get('content-type')}: ${JSON.stringify(await r.json())}`)

  console.log('    the outsider (no CAN USE on the app): the same call rejects with an AppError')
  try {
    await new lakelink.App(info.app_url, m2m('outsider')).fetch('/api/whoami')
    throw new Error('demo: the outsider\'s call should have failed')
  } catch (e) {
    if (!(e instanceof lakelink.AppError)) throw e
    console.log(`      -> status ${e.status}, kind '${e.kind}':\n         ${e.diagnosis}`)
  }

  console.log("    const conn = await connect('...;Server=...;Instance=...'); await conn.query(sql, [6, '19.99', ...])")
  const conn = await lakelink.connect(lakebase)
  console.log(`      ${util.inspect(conn, { breakLength: Infinity })}`)
  const q = await conn.query("SELECT current_user AS principal, $1::int * 7 AS answer, $2::numeric * 2 AS price, now() AS at, " +
    "'{\"a\": [1, 2]}'::jsonb AS doc, ARRAY[1, 2, 3] AS arr, $3::int8 AS big, NULL::text AS nothing", [6, '19.99', 2n ** 62n])
  console.log(`      -> ${q.command} ${q.rowCount}: ${util.inspect(q.rows[0], { breakLength: Infinity })}`)
  console.log(`         fields: ${q.fields.map((f) => `${f.name} ${f.typeName}`).join(', ')}`)

  await conn.query('CREATE TABLE IF NOT EXISTS demo_node (id serial PRIMARY KEY, note text)')
  const id = await conn.transaction(async (tx) => (await tx.query('INSERT INTO demo_node (note) VALUES ($1) RETURNING id', ['from Node'])).rows[0].id)
  console.log(`    await conn.transaction(async (tx) => ...) committed row ${id}`)

  let n = 0
  for await (const row of conn.stream('SELECT g FROM generate_series(1, 100000) g', [], { batchSize: 5000 })) n += row.g > 0 ? 1 : 0
  console.log(`    for await (const row of conn.stream(...)): ${n} rows, in batches of 5000`)

  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 10)
  const t0 = Date.now()
  await Promise.all(Array.from({ length: 20 }, () => conn.query('SELECT pg_sleep(0.5)')))
  clearInterval(timer)
  console.log(`    20 × pg_sleep(0.5) at once on the pool: ${Date.now() - t0} ms, while a 10 ms timer ticked ${ticks} times`)
  await conn.close()
}

main(process.argv[2]).catch((e) => { console.error(e); process.exit(1) })

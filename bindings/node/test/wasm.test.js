'use strict'
// require('lakelink/wasm'): the core as a WASI module on a worker thread,
// its HTTP served by this thread's fetch, against the emulator. No native
// library is loaded.
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const http = require('node:http')
const { test, before, after } = require('node:test')
const util = require('node:util')
const zlib = require('node:zlib')
const lakelink = require('lakelink/wasm')
const { emulator, m2m, routingRows, routingOutcome } = require('./helpers')

let info
before(async () => { info = await emulator() })
after(() => lakelink.close())

async function stats () {
  return (await fetch(`${info.admin_url}/stats`)).json()
}

// The admin endpoint changes state only for requests that say they send JSON.
const JSON_TYPE = { 'Content-Type': 'application/json' }

/** Arms an emulator fault (core/emulator/admin.go) for the rest of test t. */
async function fault (t, spec) {
  const r = await fetch(`${info.admin_url}/faults`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(spec) })
  assert.ok(r.ok, `arming ${JSON.stringify(spec)}: ${r.status}`)
  t.after(() => fetch(`${info.admin_url}/faults`, { method: 'DELETE', headers: JSON_TYPE }))
}

/** A local HTTP server answering with handler; resolves with its URL and the number of requests it got. */
async function server (t, handler) {
  const seen = { count: 0 }
  const srv = http.createServer((req, res) => { seen.count++; handler(req, res) })
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => srv.close(resolve)))
  return { url: `http://127.0.0.1:${srv.address().port}`, seen }
}

test('loads no native add-on', async () => {
  await lakelink.normalizeConnectionString('Host=https://x')
  const native = Object.keys(require.cache).filter((f) => /koffi|liblakelink|\.node$|[\\/]lib[\\/]native\.js$/.test(f))
  assert.deepEqual(native, [])
})

test('token(): the client credentials grant, cached by the module', async () => {
  const before = await stats()
  const t = await lakelink.token(m2m(info))
  assert.ok(t.accessToken.length > 20)
  assert.ok(t.expiresAt > new Date())
  assert.doesNotMatch(util.inspect(t) + String(t), new RegExp(t.accessToken))
  const again = await lakelink.token({ connectionString: m2m(info) }) // merged by the core, the same identity
  assert.equal(again.accessToken, t.accessToken)
  const after = await stats()
  assert.equal(after.grants.client_credentials - (before.grants.client_credentials || 0), 1)
})

test('a wrong secret is an AuthError that does not repeat it', async () => {
  const conn = `Host=${info.workspace_url};OAuthClientId=${info.service_principal.client_id};OAuthClientSecret=not-the-secret-42`
  await assert.rejects(lakelink.token(conn), (e) => {
    assert.ok(e instanceof lakelink.AuthError)
    assert.match(e.message, /invalid_client/)
    assert.doesNotMatch(e.message, /not-the-secret-42/)
    return true
  })
  await assert.rejects(lakelink.token('AuthScheme=Nope'), lakelink.ConnectionStringError)
})

test('App.fetch: a POST with a body, then a 403 with the core\'s diagnosis', async () => {
  const app = new lakelink.App(info.app_url, m2m(info))
  const r = await app.fetch('/api/echo', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"from":"wasm"}' })
  assert.equal(r.status, 200)
  assert.match(await r.text(), /wasm/)
  const who = await (await app.fetch('/api/whoami')).json()
  assert.match(JSON.stringify(who), new RegExp(info.service_principal.client_id))

  const outsider = new lakelink.App(info.app_url, m2m(info, 'outsider'))
  await assert.rejects(outsider.fetch('/api/whoami'), (e) => {
    assert.ok(e instanceof lakelink.AppError)
    assert.equal(e.status, 403)
    assert.equal(e.kind, 'forbidden')
    assert.match(e.diagnosis, /CAN USE/)
    assert.equal(e.response.status, 403)
    assert.doesNotMatch(e.message, new RegExp(info.outsider.client_secret))
    return true
  })
  await assert.rejects(app.fetch('/login'), (e) => e instanceof lakelink.AppError && e.kind === 'not_api_path')
})

test('the OAuth procedures: authorization URL, code exchange, refresh', async () => {
  const conn = `Host=${info.workspace_url};AuthScheme=OAuthPKCE`
  const callbackUrl = 'http://127.0.0.1:9/callback'
  const a = await lakelink.getOAuthAuthorizationUrl(conn, { callbackUrl, scope: 'all-apis offline_access', state: 'node-1' })
  assert.equal(a.State, 'node-1')
  assert.doesNotMatch(util.inspect(a), new RegExp(a.PKCEVerifier))
  const r = await fetch(a.URL, { redirect: 'manual' }) // the emulator signs the user in at once
  assert.equal(r.status, 302)
  const back = r.headers.get('location')
  // The verifier is the code or the whole callback URL (its state checked, its error= reported).
  await assert.rejects(lakelink.getOAuthAccessToken(conn, { verifier: back, callbackUrl, state: 'node-2', pkceVerifier: a.PKCEVerifier }),
    (e) => e instanceof lakelink.AuthError && /state/.test(e.message))
  await assert.rejects(lakelink.getOAuthAccessToken(conn, {
    verifier: `${callbackUrl}?error=access_denied&state=node-1`, callbackUrl, state: 'node-1', pkceVerifier: a.PKCEVerifier
  }), (e) => e instanceof lakelink.AuthError && e.message.includes('access_denied'))
  const first = await lakelink.getOAuthAccessToken(conn, { verifier: back, callbackUrl, state: 'node-1', pkceVerifier: a.PKCEVerifier })
  assert.ok(first.OAuthAccessToken && first.OAuthRefreshToken && first.ExpiresIn > 0)
  assert.doesNotMatch(util.inspect(first), new RegExp(first.OAuthRefreshToken))
  const second = await lakelink.refreshOAuthAccessToken(conn, { refreshToken: first.OAuthRefreshToken })
  assert.notEqual(second.OAuthRefreshToken, first.OAuthRefreshToken)

  const user = new lakelink.App(info.app_url, {
    connectionString: conn, InitiateOAuth: 'REFRESH', OAuthRefreshToken: second.OAuthRefreshToken, OAuthSettingsLocation: 'memory://node-wasm'
  })
  const who = await (await user.fetch('/api/whoami')).text()
  assert.match(who, new RegExp(info.user.email))
})

for (const target of ['instance', 'endpoint']) {
  test(`lakebaseCredential for the ${target}, and a psql login with it`, async () => {
    const lb = info.lakebase
    const key = target === 'instance' ? 'Instance' : 'Endpoint'
    const conn = `${m2m(info)};Server=${lb.host};Port=${lb.port};${key}=${lb[target]}`
    const login = await lakelink.lakebaseCredential(conn)
    assert.equal(login.user, info.service_principal.client_id)
    assert.equal(login.port, lb.port)
    assert.doesNotMatch(util.inspect(login), new RegExp(login.password))
    const psql = spawnSync('psql', ['-XAtc', 'SELECT current_user'], {
      encoding: 'utf8',
      env: {
        ...process.env, PGHOST: login.host, PGPORT: String(login.port), PGDATABASE: login.database,
        PGUSER: login.user, PGPASSWORD: login.password, PGSSLMODE: login.sslmode
      }
    })
    assert.equal(psql.status, 0, psql.stderr)
    assert.equal(psql.stdout.trim(), login.user)
  })
}

test('SQL is not available in the WASI build', async () => {
  const m = new lakelink.Module()
  try {
    await assert.rejects(m.call({ op: 'sql', conn: m2m(info), sql: 'SELECT 1' }), (e) => {
      assert.ok(e instanceof lakelink.DatabaseError)
      assert.match(e.message, /not available in the WASI build; use the minted credential/)
      return true
    })
  } finally {
    await m.close()
  }
})

test('an answer that makes the module\'s memory grow (10 MiB), then another call', async (t) => {
  await fault(t, { endpoint: 'app', kind: 'huge' })
  const app = new lakelink.App(info.app_url, m2m(info))
  const r = await app.fetch('/api/whoami')
  assert.equal(r.status, 200)
  assert.equal((await r.arrayBuffer()).byteLength, 10 << 20)
  assert.equal((await app.fetch('/api/whoami')).status, 200)
})

test('App.fetch: an absolute URL of another host is refused before anything is sent', async (t) => {
  const other = await server(t, (req, res) => res.end('{}'))
  const app = new lakelink.App(info.app_url, m2m(info))
  await assert.rejects(app.fetch(`${other.url}/api/steal`), (e) => {
    assert.ok(e instanceof lakelink.AppError)
    assert.equal(e.kind, 'other_host')
    return true
  })
  assert.equal(other.seen.count, 0)
})

test('where the token may go: every row of the shared table (core/apps/testdata/routing.json)', async () => {
  for (const row of routingRows()) {
    const got = await routingOutcome(lakelink, row, info, (url) => new lakelink.App(url, m2m(info)))
    assert.equal(got, row.want, `app ${row.app}, url ${JSON.stringify(row.url)}: ${row.why}`)
  }
})

test('App.fetch: a refused connection gets the core\'s diagnosis (ECONNREFUSED through the import)', async () => {
  const srv = http.createServer()
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const where = `127.0.0.1:${srv.address().port}`
  await new Promise((resolve) => srv.close(resolve)) // nothing listens there now
  const app = new lakelink.App(`http://${where}`, m2m(info))
  await assert.rejects(app.fetch('/api/whoami'), (e) => {
    assert.ok(e instanceof lakelink.AppError)
    assert.equal(e.kind, 'network')
    assert.match(e.message, /ECONNREFUSED/)
    assert.match(e.diagnosis, new RegExp(`connection refused: nothing listens at ${where}`))
    return true
  })
})

test('App.fetch: a compressed answer comes decoded, without its Content-Encoding', async (t) => {
  const gz = await server(t, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' })
    res.end(zlib.gzipSync(JSON.stringify({ hello: 'gzip' })))
  })
  const r = await new lakelink.App(gz.url, m2m(info)).fetch('/api/data')
  assert.equal(r.headers.get('content-encoding'), null)
  assert.equal(r.headers.get('content-length'), null)
  assert.deepEqual(await r.json(), { hello: 'gzip' })
})

test('Timeout reaches the host as timeout_ms: a hanging token endpoint fails after it', async (t) => {
  await fault(t, { endpoint: 'token', kind: 'hang', duration: '30s', count: 5 })
  const m = new lakelink.Module()
  t.after(() => m.close())
  const start = Date.now()
  await assert.rejects(m.call({ op: 'token', conn: `${m2m(info)};Timeout=2` }), (e) => {
    assert.ok(e instanceof lakelink.AuthError)
    assert.match(e.message, /ETIMEDOUT.*deadline exceeded/)
    return true
  })
  const elapsed = Date.now() - start
  assert.ok(elapsed >= 2000 && elapsed < 15000, `gave up after ${elapsed} ms`)
})

test('two calls at once', async () => {
  const app = new lakelink.App(info.app_url, m2m(info))
  const [who, tok] = await Promise.all([app.fetch('/api/whoami'), lakelink.token(m2m(info))])
  assert.equal(who.status, 200)
  assert.ok(tok.accessToken)
})

test('after close() every call rejects at once; the shared module starts again', async () => {
  const m = new lakelink.Module()
  await m.call({ op: 'version' })
  const pending = assert.rejects(m.call({ op: 'token', conn: m2m(info) }), (e) => e instanceof lakelink.InterfaceError && /closed/.test(e.message))
  await m.close()
  assert.ok(m.stopped)
  await pending
  await assert.rejects(m.call({ op: 'version' }), (e) => e instanceof lakelink.InterfaceError && /closed/.test(e.message))

  await lakelink.close()
  assert.match(await lakelink.normalizeConnectionString('Host=https://x'), /Host=https:\/\/x/)
})

test('a module that cannot start rejects its calls', async () => {
  const m = new lakelink.Module({ file: __filename })
  await assert.rejects(m.call({ op: 'version' }), (e) => e instanceof lakelink.InterfaceError && /cannot start/.test(e.message))
  await assert.rejects(m.call({ op: 'version' }), lakelink.InterfaceError)
})

test('bad options are a TypeError', async () => {
  await assert.rejects(lakelink.token(42), TypeError)
})

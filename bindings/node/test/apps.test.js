'use strict'
// Apps, tokens and the OAuth procedures, against the emulator.
const lakelink = require('..')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const http = require('node:http')
const path = require('node:path')
const { test, before } = require('node:test')
const util = require('node:util')
const { emulator, m2m, routingRows, routingOutcome } = require('./helpers')

let info
before(async () => { info = await emulator() })

test('App.fetch returns a standard Response', async () => {
  const app = new lakelink.App(info.app_url, { connectionString: m2m(info) })
  const r = await app.fetch('/api/whoami')
  assert.ok(r instanceof Response)
  assert.equal(r.status, 200)
  assert.ok(r.ok)
  assert.equal(r.url, `${info.app_url}/api/whoami`)
  assert.match(r.headers.get('content-type'), /^application\/json/)
  const body = await r.json()
  assert.equal(body.email, info.service_principal.client_id)
})

test('App.fetch sends method, headers and body as fetch does', async () => {
  const sp = info.service_principal
  const app = new lakelink.App(info.app_url, { Host: info.workspace_url, OAuthClientId: sp.client_id, OAuthClientSecret: sp.client_secret })
  const r = await app.fetch('api/echo', { method: 'POST', headers: { 'X-Test': '1', 'Content-Type': 'application/json' }, body: JSON.stringify({ hello: 'wörld' }) })
  const echoed = await r.json()
  assert.deepEqual(JSON.parse(echoed.body), { hello: 'wörld' })
  assert.deepEqual(echoed.headers['X-Test'], ['1'])
  const raw = await app.fetch('/api/echo', { method: 'POST', body: new Uint8Array([0, 1, 2]) })
  assert.equal((await raw.json()).body.length, 3)
  assert.ok(!util.inspect(app).includes(sp.client_secret))
})

test('403: AppError with the core\'s diagnosis, no secret shown', async () => {
  const secret = info.outsider.client_secret
  const app = new lakelink.App(info.app_url, { connectionString: m2m(info, 'outsider') })
  const e = await app.fetch('/api/whoami').catch((err) => err)
  assert.ok(e instanceof lakelink.AppError && e instanceof Error)
  assert.equal(e.status, 403)
  assert.equal(e.kind, 'forbidden')
  assert.match(e.diagnosis, /CAN USE/)
  assert.match(e.message, /CAN USE/)
  assert.ok(e.response instanceof Response && e.response.status === 403)
  assert.match(await e.response.text(), /CAN USE/)
  for (const shown of [util.inspect(e), String(e), e.message, util.inspect(app), JSON.stringify(e)]) assert.ok(!shown.includes(secret))
})

test('404 and 401 are diagnosed', async () => {
  const nf = await new lakelink.App(info.app_url, m2m(info)).fetch('/api/no-such-route').catch((err) => err)
  assert.equal(nf.status, 404)
  assert.equal(nf.kind, 'not_found')
  assert.ok(nf.diagnosis.length > 0)
  const token = 'not-a-real-token-abcdef'
  const un = await new lakelink.App(info.app_url, { connectionString: `AuthScheme=Token;Token=${token}` }).fetch('/api/whoami').catch((err) => err)
  assert.equal(un.status, 401)
  assert.equal(un.kind, 'unauthorized')
  assert.match(un.diagnosis, /invalid or expired/)
  assert.ok(!util.inspect(un).includes(token) && !un.message.includes(token))
})

test('an app URL with a path, query or fragment is refused by the core, naming what is wrong and no secret', async () => {
  const refused = [
    ['https://my-app.example.com/some/path', /app URL "https:\/\/my-app\.example\.com\/some\/path": it has the path "\/some\/path"; give the app's base URL \(scheme:\/\/host\[:port\]\)/],
    ['https://my-app.example.com/?token=query-secret-1', /app URL "https:\/\/my-app\.example\.com\/\?\[REDACTED\]": it must not have a query/],
    ['https://my-app.example.com#top', /app URL "https:\/\/my-app\.example\.com#top": it must not have a fragment/],
    ['https://user:pw-secret-2@my-app.example.com', /must not carry a user name or password/],
    ['http://my-app-123.databricksapps.com', /it uses http, which would send the token in cleartext: http is only for a local emulator/]
  ]
  for (const [url, message] of refused) {
    const app = new lakelink.App(url, m2m(info))
    assert.ok(!util.inspect(app).includes('secret'), util.inspect(app))
    const e = await app.fetch('/api/x').catch((err) => err)
    assert.ok(e instanceof lakelink.InterfaceError && message.test(e.message) && !e.message.includes('secret'), `${url}: ${e}`)
  }
  assert.throws(() => new lakelink.App(undefined), TypeError)
})

test('where the token may go: every row of the shared table (core/apps/testdata/routing.json)', async () => {
  for (const row of routingRows()) {
    const got = await routingOutcome(lakelink, row, info, (url) => new lakelink.App(url, m2m(info)))
    assert.equal(got, row.want, `app ${row.app}, url ${JSON.stringify(row.url)}: ${row.why}`)
  }
})

test('App.fetch sends to the URL the core names: a relative path whose query holds ://', async () => {
  const r = await new lakelink.App(info.app_url, m2m(info)).fetch('/api/echo?next=http://x')
  assert.equal(r.url, `${info.app_url}/api/echo?next=http://x`)
  assert.deepEqual((await r.json()).query, { next: ['http://x'] })
})

test('a path outside /api/ is refused before sending', async () => {
  const e = await new lakelink.App(info.app_url, m2m(info)).fetch('/index.html').catch((err) => err)
  assert.equal(e.kind, 'not_api_path')
  assert.equal(e.status, 0)
  assert.equal(e.response, undefined)
})

test('an aborted signal rejects with its reason', async () => {
  const ac = new AbortController()
  ac.abort()
  await assert.rejects(new lakelink.App(info.app_url, m2m(info)).fetch('/api/whoami', { signal: ac.signal }), { name: 'AbortError' })
})

/** An HTTP server on a free loopback port standing in for an app, with handler; resolves with its URL. */
async function localApp (t, handler) {
  const server = http.createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  return `http://127.0.0.1:${server.address().port}`
}

test('App.fetch returns fetch\'s own Response: its body streams as the app sends it', async (t) => {
  let release
  const last = new Promise((resolve) => { release = resolve })
  const seen = []
  const url = await localApp(t, (req, res) => {
    seen.push(req.headers.authorization)
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.write('first chunk\n')
    last.then(() => res.end('last chunk\n')) // sent only once the client has read the first
  })
  const app = new lakelink.App(url, m2m(info))
  const r = await app.fetch('/api/stream')
  assert.equal(r.status, 200)
  assert.equal(r.url, `${url}/api/stream`)
  const reader = r.body.getReader()
  const decoder = new TextDecoder()
  const first = await reader.read()
  assert.equal(decoder.decode(first.value), 'first chunk\n') // read before the app finished the body
  release()
  let rest = ''
  for (let c; !(c = await reader.read()).done;) rest += decoder.decode(c.value)
  assert.equal(rest, 'last chunk\n')
  assert.deepEqual(seen, [`Bearer ${(await app.token()).accessToken}`]) // the core's cached token
})

test('App.fetch honours an AbortSignal while the app has not answered', async (t) => {
  const url = await localApp(t, () => {}) // never answers
  const app = new lakelink.App(url, m2m(info))
  const t0 = Date.now()
  await assert.rejects(app.fetch('/api/slow', { signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' })
  const ac = new AbortController()
  const pending = app.fetch('/api/slow', { signal: ac.signal })
  setTimeout(() => ac.abort(), 100)
  await assert.rejects(pending, { name: 'AbortError' })
  assert.ok(Date.now() - t0 < 5000)
})

test('AppError: inspect shows neither the app\'s cookies nor the URL\'s query; the diagnosis reads the body\'s start only', async (t) => {
  let release
  const held = new Promise((resolve) => { release = resolve })
  const start = 'only the owner may do this\n' + 'x'.repeat(100 * 1024)
  const url = await localApp(t, (req, res) => {
    res.writeHead(403, { 'Set-Cookie': 'session=cookie-secret-4711; HttpOnly', 'Content-Type': 'text/plain' })
    res.write(start)
    held.then(() => res.end('the end')) // the rest only once the AppError was thrown
  })
  const e = await new lakelink.App(url, m2m(info)).fetch('/api/x?token=query-secret-0815').catch((err) => err)
  assert.ok(e instanceof lakelink.AppError, String(e))
  assert.equal(e.status, 403)
  assert.match(e.message, /only the owner may do this/)
  for (const shown of [util.inspect(e), util.inspect(e, { showHidden: true, depth: 10, getters: true }), String(e), e.message, JSON.stringify(e)]) {
    assert.ok(!shown.includes('cookie-secret-4711') && !shown.includes('query-secret-0815'), shown)
  }
  assert.ok(e.response instanceof Response) // still there to read
  assert.equal(e.response.headers.get('set-cookie'), 'session=cookie-secret-4711; HttpOnly')
  assert.equal(e.response.url, `${url}/api/x?token=query-secret-0815`)
  release()
  assert.equal(await e.response.text(), start + 'the end') // the whole body, unread by the diagnosis
})

test('App.fetch: redirects are not followed, other hosts and dead ports are diagnosed by the core', async (t) => {
  let otherHits = 0
  const other = await localApp(t, (req, res) => { otherHits++; res.end('ok') })
  const url = await localApp(t, (req, res) => {
    const to = req.url === '/api/login' ? '/oidc/v1/authorize?client_id=x' : `${other}/api/x`
    res.writeHead(302, { Location: to })
    res.end()
  })
  const app = new lakelink.App(url, m2m(info))
  const away = await app.fetch('/api/away', { redirect: 'follow' }).catch((e) => e)
  assert.ok(away instanceof lakelink.AppError, String(away))
  assert.equal(away.status, 302)
  assert.equal(away.kind, 'http')
  assert.match(away.diagnosis, /does not follow redirects/)
  assert.equal(away.response.headers.get('location'), `${other}/api/x`)
  assert.equal(otherHits, 0)
  const login = await app.fetch('/api/login').catch((e) => e)
  assert.equal(login.kind, 'login_redirect')
  assert.match(login.diagnosis, /browser sign-in/)

  const elsewhere = await app.fetch(`${other}/api/x`).catch((e) => e)
  assert.equal(elsewhere.kind, 'other_host')
  assert.equal(elsewhere.status, 0)
  assert.equal(otherHits, 0)

  const server = http.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const dead = `http://127.0.0.1:${server.address().port}`
  await new Promise((resolve) => server.close(resolve))
  const refused = await new lakelink.App(dead, m2m(info)).fetch('/api/whoami').catch((e) => e)
  assert.ok(refused instanceof lakelink.AppError, String(refused))
  assert.equal(refused.kind, 'network')
  assert.equal(refused.status, 0)
  assert.match(refused.message, /ECONNREFUSED/)
  assert.match(refused.diagnosis, new RegExp(`connection refused: nothing listens at 127\\.0\\.0\\.1:${new URL(dead).port}`))
  assert.equal(refused.cause?.message, 'fetch failed') // fetch's own error
})

test('token(): cached, its secret never shown', async () => {
  const t = await lakelink.token(m2m(info))
  assert.ok(t.accessToken.length > 20)
  assert.ok(t.expiresAt instanceof Date && t.expiresAt > new Date())
  assert.equal((await lakelink.token({ connectionString: m2m(info) })).accessToken, t.accessToken)
  for (const shown of [util.inspect(t), util.inspect(t, { showHidden: true }), String(t), JSON.stringify(t)]) {
    assert.ok(!shown.includes(t.accessToken), shown)
  }
  const app = new lakelink.App(info.app_url, m2m(info))
  assert.equal((await app.token()).accessToken, t.accessToken)
  await assert.rejects(lakelink.token('Host=http://127.0.0.1:1;OAuthClientId=x;OAuthClientSecret=hidden-secret-123;Timeout=2'),
    (e) => e instanceof lakelink.LakelinkError && !util.inspect(e).includes('hidden-secret-123'))
})

test('inside a Databricks App (DATABRICKS_* injected): new App(url).fetch() with no arguments', () => {
  const sp = info.service_principal
  const env = { ...process.env, DATABRICKS_HOST: info.workspace_url, DATABRICKS_CLIENT_ID: sp.client_id, DATABRICKS_CLIENT_SECRET: sp.client_secret }
  delete env.DATABRICKS_CONFIG_PROFILE
  delete env.DATABRICKS_TOKEN
  const code = `const l = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    (async () => { const r = await new l.App(process.argv[1]).fetch('/api/whoami'); const t = await l.token();
      console.log(r.status, (await r.json()).email, t.accessToken.length > 20) })().catch((e) => { console.error(e); process.exit(1) })`
  const out = execFileSync(process.execPath, ['-e', code, info.app_url], { env, encoding: 'utf8', timeout: 60000 })
  assert.deepEqual(out.trim().split(' '), ['200', sp.client_id, 'true'])
})

test('OAuth procedures end to end: authorization URL, authorize, access token, refresh', async () => {
  const host = { Host: info.workspace_url }
  const callbackUrl = 'http://127.0.0.1:8765/callback'
  const a = await lakelink.getOAuthAuthorizationUrl(host, { callbackUrl })
  assert.ok(a.URL.startsWith(info.workspace_url) && a.State && a.PKCEVerifier)
  assert.ok(!util.inspect(a).includes(a.PKCEVerifier))
  const resp = await fetch(a.URL, { redirect: 'manual' }) // the emulator signs its user in at once
  assert.equal(Math.floor(resp.status / 100), 3)
  const loc = new URL(resp.headers.get('location'))
  assert.equal(`${loc.origin}${loc.pathname}`, callbackUrl)
  assert.equal(loc.searchParams.get('state'), a.State)
  const code = loc.searchParams.get('code')

  const t = await lakelink.getOAuthAccessToken(host, { verifier: code, callbackUrl, pkceVerifier: a.PKCEVerifier })
  assert.ok(t.OAuthAccessToken && t.OAuthRefreshToken && Number(t.ExpiresIn) > 60)
  const shown = util.inspect(t)
  assert.ok(!shown.includes(t.OAuthAccessToken) && !shown.includes(t.OAuthRefreshToken), shown)
  await assert.rejects(lakelink.getOAuthAccessToken(host, { verifier: code, callbackUrl, pkceVerifier: a.PKCEVerifier }),
    (e) => e instanceof lakelink.AuthError && !e.message.includes(code)) // codes are single use

  const r = await lakelink.refreshOAuthAccessToken(host, { refreshToken: t.OAuthRefreshToken })
  assert.notEqual(r.OAuthRefreshToken, t.OAuthRefreshToken)
  const r2 = await lakelink.refreshOAuthAccessToken({ ...host, OAuthRefreshToken: r.OAuthRefreshToken })
  assert.ok(r2.OAuthAccessToken)
  await assert.rejects(lakelink.refreshOAuthAccessToken(host, { refreshToken: t.OAuthRefreshToken }),
    (e) => e instanceof lakelink.AuthError && !util.inspect(e).includes(t.OAuthRefreshToken)) // rotated out
})

test('getOAuthAccessToken takes the code or the whole callback URL, checks its state and reports error=', async () => {
  const host = { Host: info.workspace_url }
  const callbackUrl = 'http://127.0.0.1:8765/callback'
  const a = await lakelink.getOAuthAuthorizationUrl(host, { callbackUrl })
  const back = (await fetch(a.URL, { redirect: 'manual' })).headers.get('location') // the emulator signs its user in at once
  const code = new URL(back).searchParams.get('code')
  await assert.rejects(lakelink.getOAuthAccessToken(host, { verifier: back, callbackUrl, state: 'another-sign-in', pkceVerifier: a.PKCEVerifier }),
    (e) => e instanceof lakelink.AuthError && /state/.test(e.message) && !e.message.includes(code))
  const denied = `${callbackUrl}?error=access_denied&error_description=the+user+denied+the+request&state=${a.State}`
  await assert.rejects(lakelink.getOAuthAccessToken(host, { verifier: denied, callbackUrl, state: a.State, pkceVerifier: a.PKCEVerifier }),
    (e) => e instanceof lakelink.AuthError && e.message.includes('access_denied: the user denied the request'))
  const t = await lakelink.getOAuthAccessToken(host, { verifier: back, callbackUrl, state: a.State, pkceVerifier: a.PKCEVerifier })
  assert.ok(t.OAuthAccessToken && t.OAuthRefreshToken)
})

test('App.fetch keeps the core\'s answer for an identical request until the token\'s renewal, and drops all after a failure', async () => {
  const native = require('../lib/native')
  const fns = native.lib()
  const real = fns.app_authorize_reusable
  const asked = []
  fns.app_authorize_reusable = { async: (...args) => { asked.push(`${args[2]} ${args[3]}`); return real.async(...args) } }
  try {
    const app = new lakelink.App(info.app_url, m2m(info))
    for (let i = 0; i < 3; i++) assert.equal((await app.fetch('/api/whoami')).status, 200)
    assert.deepEqual(asked, ['GET /api/whoami']) // once for three identical requests
    const now = performance.now
    performance.now = () => now.call(performance) + 3600 * 1000 // past the token's renewal: the core is asked again
    try {
      assert.equal((await app.fetch('/api/whoami')).status, 200)
    } finally {
      performance.now = now
    }
    assert.equal(asked.length, 2)
    asked.pop()
    assert.equal((await app.fetch('/api/whoami', { method: 'POST' })).status, 200) // another method: the core decides
    assert.equal((await app.fetch('/api/echo')).status, 200)
    assert.equal(asked.length, 3)
    await assert.rejects(app.fetch('/api/no-such-route'), { status: 404 })
    await assert.rejects(app.fetch('/api/no-such-route'), { status: 404 })
    assert.equal(asked.length, 5) // not kept after an answer other than 2xx
    assert.equal((await app.fetch('/api/echo')).status, 200)
    assert.equal(asked.length, 6) // nor is any other: they carry the same token
    await assert.rejects(app.fetch('/index.html'), { kind: 'not_api_path' }) // refusals are the core's, every time
    await assert.rejects(app.fetch('/index.html'), { kind: 'not_api_path' })
    assert.equal(asked.length, 8)
    assert.doesNotMatch(util.inspect(app, { showHidden: true, depth: 5 }), /Bearer|eyJ/) // the kept header is not shown
  } finally {
    fns.app_authorize_reusable = real
  }
})

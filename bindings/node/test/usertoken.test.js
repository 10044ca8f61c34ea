'use strict'
// userToken(req): the App user's token from X-Forwarded-Access-Token, in a
// node:http IncomingMessage from a real server, an Express-like req, a
// WHATWG Request or Headers; a missing, doubled or 1 MB header is a clear
// error that never shows the value. The value's shape (one bearer token) is
// the core's to check, where the token is used: an App's calls here, a
// pool's acquire in asuser.test.js.
const lakelink = require('..')
const assert = require('node:assert/strict')
const http = require('node:http')
const net = require('node:net')
const { test } = require('node:test')
const util = require('node:util')

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl'

/**
 * Sends a request with rawHeaders (a flat [name, value, ...] list, so that
 * a header may repeat) to a real node:http server, and resolves with what
 * userToken(req) gave there: {token} or {error}.
 */
async function throughServer (rawHeaders) {
  let seen
  const server = http.createServer({ maxHeaderSize: 2 * 1024 * 1024 }, (req, res) => {
    try {
      seen = { token: lakelink.userToken(req) }
    } catch (e) {
      seen = { error: e }
    }
    res.end()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await new Promise((resolve, reject) => { // a raw socket: node:http's client would not send a header twice
      const socket = net.connect(server.address().port, '127.0.0.1')
      let lines = 'GET /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'
      for (let i = 0; i < rawHeaders.length; i += 2) lines += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
      socket.end(lines + '\r\n')
      socket.resume()
      socket.on('close', resolve)
      socket.on('error', reject)
    })
  } finally {
    server.close()
  }
  return seen
}

/** The error shows neither the value nor any of its parts. */
function hidden (e, value) {
  for (const text of [e.message, util.inspect(e), JSON.stringify(e), e.stack]) {
    for (const part of value.split(/[\s,]+/).filter((p) => p.length > 8)) assert.ok(!text.includes(part), `the error shows the token: ${text.slice(0, 200)}`)
  }
  return true
}

test('an IncomingMessage from a real http server', async () => {
  assert.deepEqual(await throughServer(['X-Forwarded-Access-Token', TOKEN]), { token: TOKEN })
  assert.deepEqual(await throughServer(['x-forwarded-access-token', ` ${TOKEN} `]), { token: TOKEN })

  const none = await throughServer(['X-Forwarded-Email', 'a@example.com'])
  assert.ok(none.error instanceof lakelink.AuthError)
  assert.match(none.error.message, /no X-Forwarded-Access-Token header: turn on user authorization for the app \(Databricks Apps > the app > Configure > User authorization\)/)

  const two = await throughServer(['X-Forwarded-Access-Token', TOKEN, 'X-Forwarded-Access-Token', TOKEN + 'x']) // two header lines
  assert.ok(two.error instanceof lakelink.AuthError && /2 X-Forwarded-Access-Token headers/.test(two.error.message), String(two.error))
  hidden(two.error, TOKEN)

  const huge = 'a'.repeat(1024 * 1024)
  const big = await throughServer(['X-Forwarded-Access-Token', huge])
  assert.ok(big.error instanceof lakelink.InterfaceError && big.error.code === 'LAKELINK_INVALID_ARGUMENT' &&
    /more than the 64 KiB a token may be/.test(big.error.message))
  assert.ok(big.error.message.length < 200)
})

test('an Express-like req (headers object, an array for a repeated header) and a plain headers object', () => {
  assert.equal(lakelink.userToken({ headers: { 'x-forwarded-access-token': TOKEN } }), TOKEN)
  assert.equal(lakelink.userToken({ 'X-Forwarded-Access-Token': TOKEN }), TOKEN)
  assert.throws(() => lakelink.userToken({ headers: { 'x-forwarded-access-token': [TOKEN, TOKEN] } }),
    (e) => e instanceof lakelink.AuthError && /2 X-Forwarded-Access-Token headers/.test(e.message) && hidden(e, TOKEN))
  for (const asSent of ['Bearer ' + TOKEN, ` ${TOKEN} `, `${TOKEN}, other-token-value`]) { // userToken only reads: the core checks the shape
    assert.equal(lakelink.userToken({ headers: { 'x-forwarded-access-token': asSent } }), asSent)
  }
  assert.throws(() => lakelink.userToken({ headers: {} }), /turn on user authorization/)
  assert.throws(() => lakelink.userToken({ headers: { 'x-forwarded-access-token': '' } }), /turn on user authorization/)
  assert.throws(() => lakelink.userToken(null), TypeError)
  assert.throws(() => lakelink.userToken('a string'), TypeError)
})

test('a WHATWG Request and Headers', () => {
  assert.equal(lakelink.userToken(new Request('http://app/api/x', { headers: { 'X-Forwarded-Access-Token': TOKEN } })), TOKEN)
  assert.equal(lakelink.userToken(new Headers({ 'X-Forwarded-Access-Token': TOKEN })), TOKEN)
  const twice = new Headers([['X-Forwarded-Access-Token', TOKEN], ['X-Forwarded-Access-Token', TOKEN]])
  assert.equal(lakelink.userToken(new Request('http://app/', { headers: twice })), `${TOKEN}, ${TOKEN}`) // Headers joins them: the core refuses the list
  assert.throws(() => lakelink.userToken(new Request('http://app/')), /no X-Forwarded-Access-Token header/)
  const huge = new Headers({ 'X-Forwarded-Access-Token': 'b'.repeat(1024 * 1024) })
  assert.throws(() => lakelink.userToken(huge), (e) => /more than the 64 KiB a token may be/.test(e.message) && e.message.length < 200)
})

test('asUser takes a token or a request without I/O; the core checks the token\'s shape where it is used, in its words', async () => {
  const pool = new lakelink.Pool('Server=127.0.0.1;Port=1') // cannot open (nothing listens there): asUser needs no I/O
  pool.end()
  assert.throws(() => pool.asUser(''), /turn on user authorization/)
  assert.throws(() => pool.asUser({ headers: {} }), lakelink.AuthError)
  pool.asUser(`${TOKEN},${TOKEN}`) // checked at the first query (asuser.test.js)
  const user = pool.asUser({ headers: { 'x-forwarded-access-token': TOKEN } })
  assert.ok(!util.inspect(user, { showHidden: true }).includes(TOKEN))
  const app = new lakelink.App('https://app.example.com', 'Host=https://w.example.com;AuthScheme=Token;Token=app-token')
  assert.throws(() => app.asUser(new Request('https://app.example.com/')), /turn on user authorization/)
  const asUser = app.asUser(new Headers({ 'X-Forwarded-Access-Token': TOKEN }))
  assert.ok(asUser instanceof lakelink.App && asUser.url === app.url)
  assert.ok(!util.inspect(asUser).includes(TOKEN) && !String(asUser).includes(TOKEN))
  const bad = {
    [` ${TOKEN} `]: /the value has spaces/, // as a plain object carries it: not trimmed, not taken
    ['Bearer ' + TOKEN]: /starts with "Bearer "/,
    [`${TOKEN}, ${TOKEN}x`]: /comma-separated list/,
    [TOKEN + '"']: /cannot have \(at byte 53\)/,
    '==': /only padding/
  }
  for (const [value, words] of Object.entries(bad)) {
    const e = await app.asUser({ headers: { 'x-forwarded-access-token': value } }).fetch('/api/x').catch((err) => err) // refused before sending
    assert.ok(e instanceof lakelink.InterfaceError && e.code === 'LAKELINK_INVALID_ARGUMENT' && words.test(e.message), String(e))
    hidden(e, value)
  }
})

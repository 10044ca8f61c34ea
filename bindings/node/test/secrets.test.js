'use strict'
// Secrets never shown: not when the credentials API echoes a credential in
// an answer it cuts short, nor a URL's password in a connection string.
const lakelink = require('..')
const assert = require('node:assert/strict')
const util = require('node:util')
const { test } = require('node:test')
const { emulator, lakebase } = require('./helpers')

test('a credential cut short by the credentials API is not in the error', async () => {
  const info = await emulator()
  const secret = 'SECRETcutCredentialNode'
  const r = await fetch(`${info.admin_url}/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' }, // the admin endpoint takes JSON only
    body: JSON.stringify({ endpoint: 'database-credentials', kind: 'malformed', body: `{"token": "${secret}", "expiration_time": ` })
  })
  assert.equal(r.status, 201)
  let err
  try {
    const conn = await lakelink.connect(lakebase(info) + ';Timeout=43') // an identity of its own: no credential cached yet
    await conn.close()
  } catch (e) {
    err = e
  }
  assert.ok(err instanceof lakelink.LakelinkError, 'connected with a credential cut short')
  const shown = [err.message, err.stack, String(err), util.inspect(err, { depth: 5, showHidden: true }), JSON.stringify(err)].join('\n')
  assert.ok(!shown.includes(secret) && !shown.includes('Request log'), shown)
  assert.match(err.message, /not valid JSON/)
})

test("normalizeConnectionString masks every URL's password", () => {
  const shown = JSON.stringify(lakelink.normalizeConnectionString(
    'Host=http://u:PwSECRET1@127.0.0.1:8080;Server=http://u:PwSECRET2@db.example;DiscoveryURL=http://u:PwSECRET3@127.0.0.1:9/x'))
  assert.ok(!shown.includes('SECRET'), shown)
  assert.ok(shown.includes('http://u:***@db.example'), shown)
})

test("a URL's password is not shown by inspect or String", async () => {
  const info = await emulator()
  const host = info.workspace_url.replace('http://', 'http://u:PwSECRET@')
  const conn = await lakelink.connect(lakebase(info).replace(info.workspace_url, host))
  try {
    for (const shown of [util.inspect(conn), String(conn)]) {
      assert.ok(!shown.includes('PwSECRET'), shown)
      assert.ok(shown.includes('http://u:***@'), shown)
    }
  } finally {
    await conn.close()
  }
})

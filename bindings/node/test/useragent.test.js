'use strict'
// The User-Agent of the library's HTTP requests names the Node binding
// (lakelink_set_user_agent, called once when lib/native.js loads the library).
// App.fetch sends through Node's own fetch, not the library: its
// User-Agent is Node's.
const lakelink = require('..')
const assert = require('node:assert/strict')
const { test, before } = require('node:test')
const { emulator, m2m, lakebase } = require('./helpers')

let info
before(async () => { info = await emulator() })

test('requests name lakelink, its version, the binding, Node and the auth type', async () => {
  await lakelink.token(m2m(info))
  const c = new lakelink.Client(lakebase(info)) // SCIM and the credential API
  await c.connect()
  await c.query('SELECT 1')
  await c.end()
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const want = new RegExp(`^lakelink/${escape(lakelink.libraryVersion())} go/\\S+ os/\\S+ ` +
    `binding/node node/${escape(process.versions.node)} auth/oauth-m2m$`)
  const agents = (await (await fetch(`${info.admin_url}/stats`)).json()).user_agents
  for (const endpoint of ['token', 'scim-me', 'database-credentials']) {
    assert.ok(Object.keys(agents[endpoint] || {}).some((a) => want.test(a)), `${endpoint}: ${JSON.stringify(agents[endpoint])}`)
  }
})

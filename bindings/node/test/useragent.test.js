'use strict'
// The User-Agent of the library's HTTP requests names the Node binding
// (lakelink_set_user_agent, called once when lib/native.js loads the library).
// App.fetch sends through Node's own fetch with the User-Agent the core
// gives with its Authorization header (lakelink_app_authorize_reusable),
// the same as the library's own requests carry.
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

test('App.fetch sends lakelink\'s User-Agent, with a User-Agent of the request after it', async () => {
  const app = new lakelink.App(info.app_url, { connectionString: m2m(info) })
  await (await app.fetch('/api/echo')).text()
  const echoed = await (await app.fetch('/api/echo', { headers: { 'User-Agent': 'my-app/1.0' } })).json()
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const want = `^lakelink/${escape(lakelink.libraryVersion())} go/\\S+ os/\\S+ binding/node node/${escape(process.versions.node)} auth/oauth-m2m`
  const agents = Object.keys((await (await fetch(`${info.admin_url}/stats`)).json()).user_agents.app || {})
  assert.ok(agents.some((a) => new RegExp(want + '$').test(a)), JSON.stringify(agents))
  assert.ok(agents.some((a) => new RegExp(want + ' my-app/1\\.0$').test(a)), JSON.stringify(agents))
  assert.ok(echoed.path === '/api/echo')
})

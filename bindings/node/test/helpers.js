'use strict'
// The lakelink emulator for the tests: the one test/run.js started (its
// emulator.json in LAKELINK_TEST_EMULATOR), or, when a file runs alone, one
// of its own, stopped when the process exits.

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..', '..', '..')
const OUT = path.join(REPO, 'build', 'out')

function need (file) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`make build\` in ${REPO} first`)
}

/** Starts `lakelink emulator` (with args added to its flags) and resolves with its process and emulator.json once it is ready. */
async function startEmulator (args = []) {
  const cli = path.join(OUT, 'lakelink')
  need(cli)
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'lakelink-node-emu-'))
  const log = fs.openSync(path.join(state, 'emulator.log'), 'w')
  const proc = spawn(cli, ['emulator', '--state-dir', state, '--app-user-scopes', 'sql', ...args], { stdio: ['ignore', log, log] })
  const file = path.join(state, 'emulator.json')
  const deadline = Date.now() + 120000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the emulator exited (${proc.exitCode}):\n${fs.readFileSync(path.join(state, 'emulator.log'), 'utf8')}`)
    if (Date.now() > deadline) throw new Error('the emulator was not ready in 120 s')
    try {
      const info = JSON.parse(fs.readFileSync(file, 'utf8')) // may be seen before it is complete
      proc.once('exit', () => fs.rmSync(state, { recursive: true, force: true })) // its state is not left behind
      return { proc, file, info }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/**
 * Runs `node --test` over files (concurrency at a time) against one emulator
 * started with emulatorArgs, which the files find through
 * LAKELINK_TEST_EMULATOR, then stops it and exits with the tests' status.
 */
async function runWithEmulator (files, concurrency, emulatorArgs = []) {
  const { proc, file } = await startEmulator(emulatorArgs)
  let status = 1
  try {
    const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], {
      stdio: 'inherit',
      env: { ...process.env, LAKELINK_TEST_EMULATOR: file }
    })
    status = r.status ?? 1
  } finally {
    proc.kill('SIGTERM')
    await new Promise((resolve) => proc.once('exit', resolve))
  }
  process.exit(status)
}

let own = null

/** emulator.json of the emulator the tests use. */
async function emulator () {
  if (process.env.LAKELINK_TEST_EMULATOR) return JSON.parse(fs.readFileSync(process.env.LAKELINK_TEST_EMULATOR, 'utf8'))
  if (!own) {
    own = startEmulator()
    const { proc } = await own
    proc.unref() // the tests' end ends the process, which stops the emulator
    process.on('exit', () => proc.kill('SIGTERM'))
  }
  return (await own).info
}

/** A service principal's M2M connection string: who is 'service_principal' or 'outsider'. */
function m2m (info, who = 'service_principal') {
  const p = info[who]
  return `Host=${info.workspace_url};OAuthClientId=${p.client_id};OAuthClientSecret=${p.client_secret}`
}

/** The service principal's Lakebase connection string. */
function lakebase (info) {
  const lb = info.lakebase
  return `${m2m(info)};Server=${lb.host};Port=${lb.port};Instance=${lb.instance};SSLMode=verify-full;SSLServerCert=${lb.ca_file}`
}

/**
 * A connection string to the emulator's backing PostgreSQL server as its
 * administrator (lakebase.postgres_url), past the gateway: to see every
 * session (pg_stat_activity), create roles' tables and policies.
 */
function adminConnectionString (info) {
  const u = new URL(info.lakebase.postgres_url)
  return `AuthScheme=Password;Server=${u.hostname};Port=${u.port};Database=${u.pathname.slice(1)};` +
    `User=${decodeURIComponent(u.username)};Password=${decodeURIComponent(u.password)};SSLMode=disable`
}

/** Adds a workspace user (POST /_emulator/users): {email, access_token}, a token as the user's browser session with the app holds. */
async function addUser (info, email) {
  const r = await fetch(`${info.admin_url}/users`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email }) })
  if (r.status !== 200 && r.status !== 201) throw new Error(`POST /_emulator/users: ${r.status} ${await r.text()}`)
  return r.json()
}

/**
 * The X-Forwarded-Access-Token the app receives for a request of the user
 * whose token userToken is (the app's /api/echo shows its headers): what
 * an App would pass to asUser.
 */
async function forwardedToken (info, userToken) {
  const r = await fetch(`${info.app_url}/api/echo`, { headers: { Authorization: `Bearer ${userToken}` } })
  if (r.status !== 200) throw new Error(`the app's /api/echo: ${r.status} ${await r.text()}`)
  const t = (await r.json()).headers['X-Forwarded-Access-Token']
  if (!t) throw new Error('the app received no X-Forwarded-Access-Token: is the emulator running with --app-user-scopes?')
  return t[0]
}

/** The rows of core/apps/testdata/routing.json, where an app's token may go: the table every binding's tests read. */
function routingRows () {
  return JSON.parse(fs.readFileSync(path.join(REPO, 'core', 'apps', 'testdata', 'routing.json'), 'utf8')).rows
}

/**
 * Runs one row through app (an App of require('lakelink') or
 * require('lakelink/wasm'), made by makeApp(appURL)): resolves with its
 * outcome as the table names it.
 */
async function routingOutcome (lakelink, row, info, makeApp) {
  const port = new URL(info.app_url).port
  const fill = (s) => s.replaceAll('{port}', port)
  try {
    await makeApp(fill(row.app)).fetch(fill(row.url))
    return 'allowed'
  } catch (e) {
    if (e instanceof lakelink.AppError) return ['other_host', 'not_api_path'].includes(e.kind) ? e.kind : 'allowed' // sent: the answer failed
    if (e instanceof lakelink.InterfaceError) return 'invalid'
    throw e
  }
}

/** p, or a failure when it is not settled within ms (a hang). */
function within (p, ms, what) {
  let timer
  const hang = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not settled in ${ms} ms`)), ms) })
  return Promise.race([p, hang]).finally(() => clearTimeout(timer))
}

module.exports = { REPO, OUT, startEmulator, runWithEmulator, emulator, m2m, lakebase, adminConnectionString, addUser, forwardedToken, routingRows, routingOutcome, within }

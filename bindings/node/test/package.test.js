'use strict'
// npm pack: a tarball that installs as a user installs it (its dependency,
// koffi, from the registry or the cache, whichever npm has) and runs on the
// library it carries. No --offline: a fresh machine's empty npm cache lacks
// the registry metadata that --offline needs (ENOTCACHED).
const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test, before } = require('node:test')
const { emulator, m2m } = require('./helpers')

const PKG = path.resolve(__dirname, '..')
const VERSION = fs.readFileSync(path.resolve(PKG, '..', '..', 'VERSION'), 'utf8').trim() // the one place it is written
let info
before(async () => { info = await emulator() })

test('npm pack, npm install of the tarball into an empty project, require and import', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lakelink-node-pack-'))
  try {
    const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180000 })
    const tgz = path.join(dir, npm(['pack', '--silent', '--pack-destination', dir], PKG).trim().split('\n').pop())
    assert.ok(!fs.existsSync(path.join(PKG, 'liblakelink.so')), 'postpack removes the copy')
    const files = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n')
    for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'lib/pool.js', 'liblakelink.so', 'README.md']) {
      assert.ok(files.includes(`package/${f}`), `${f} is in the tarball`)
    }
    assert.ok(!files.some((f) => f.startsWith('package/test/') || f.startsWith('package/node_modules/')))

    const app = path.join(dir, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), '{"name": "app", "version": "1.0.0", "private": true}')
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tgz], app)

    const env = { ...process.env, UV_THREADPOOL_SIZE: '64' }
    delete env.LAKELINK_LIBRARY
    const run = (args) => execFileSync(process.execPath, args, { cwd: app, env, encoding: 'utf8', timeout: 60000 }).trim().split('\n')
    const cjs = run(['-e', `const l = require('lakelink');
      l.token(${JSON.stringify(m2m(info))}).then((t) => console.log(l.libraryPath() + '\\n' + (t.accessToken.length > 20)))
      console.log(require('lakelink/package.json').version + ' ' + l.libraryVersion())`])
    assert.deepEqual(cjs, [`${VERSION} ${VERSION}`, path.join(fs.realpathSync(app), 'node_modules', 'lakelink', 'liblakelink.so'), 'true'])
    const esm = run(['--input-type=module', '-e', "import lakelink, { App, libraryPath } from 'lakelink'; console.log(typeof App, libraryPath() === lakelink.libraryPath())"])
    assert.deepEqual(esm, ['function true'])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('an ES module import warns that the threadpool started too early; UV_THREADPOOL_SIZE in the environment avoids it', () => {
  // ES module loading uses the threadpool, so setting UV_THREADPOOL_SIZE from lakelink is too late there.
  const code = "import { libraryVersion } from 'lakelink'; libraryVersion(); setTimeout(() => {}, 300)"
  const env = { ...process.env }
  delete env.UV_THREADPOOL_SIZE
  const run = (extra) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: PKG, env: { ...env, ...extra }, encoding: 'utf8' })
  assert.match(run({}).stderr, /LAKELINK_THREADPOOL/)
  const quiet = run({ UV_THREADPOOL_SIZE: '64' })
  assert.equal(quiet.status, 0)
  assert.doesNotMatch(quiet.stderr, /LAKELINK_THREADPOOL/)
})

test('the package and its library report the checkout\'s VERSION; npm pack refuses a package.json that differs', () => {
  assert.equal(require('../package.json').version, VERSION)
  assert.equal(require('..').libraryVersion(), VERSION)
  // prepack's check, in a copy of the checkout's layout whose package.json has drifted.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lakelink-node-version-'))
  try {
    const pkg = path.join(root, 'bindings', 'node')
    fs.mkdirSync(path.join(pkg, 'scripts'), { recursive: true })
    fs.copyFileSync(path.join(PKG, 'scripts', 'pack.js'), path.join(pkg, 'scripts', 'pack.js'))
    fs.writeFileSync(path.join(root, 'VERSION'), `${VERSION}\n`)
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'lakelink', version: '0.0.0-drift' }))
    const r = spawnSync(process.execPath, ['scripts/pack.js', 'prepack'], { cwd: pkg, encoding: 'utf8' })
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /package\.json has version 0\.0\.0-drift but .*VERSION says/)
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
})

'use strict'
// npm pack of the main package: what the tarball holds and its manifest
// (the per-platform library packages as optionalDependencies). Installing
// it, offline, with the linux-x64 library package, is `make test-dist`'s
// (build/dist/tests/test_npm.py, from `make dist`'s tarballs).
const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')
const { PLATFORMS } = require('../lib/platforms')

const PKG = path.resolve(__dirname, '..')
const VERSION = fs.readFileSync(path.resolve(PKG, '..', '..', 'VERSION'), 'utf8').trim() // the one place it is written

test('npm pack: the main package carries the JavaScript and lakelink.wasm, and names the library packages', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lakelink-node-pack-'))
  try {
    const before = fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: PKG, encoding: 'utf8', timeout: 180000 })
    const tgz = path.join(dir, out.trim().split('\n').pop())
    assert.equal(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'), before, 'postpack puts package.json back')
    assert.ok(!fs.existsSync(path.join(PKG, 'lakelink.wasm')), 'postpack removes the copy')
    const files = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n')
    for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'lib/pool.js', 'lib/platforms.js', 'lakelink.wasm', 'README.md']) {
      assert.ok(files.includes(`package/${f}`), `${f} is in the tarball`)
    }
    assert.ok(!files.some((f) => f.startsWith('package/test/') || f.startsWith('package/node_modules/') || /\.(so|dll)$/.test(f)))
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }))
    assert.deepEqual(manifest.optionalDependencies, Object.fromEntries(PLATFORMS.map((p) => [p.pkg, VERSION])))
    assert.equal(manifest.os, undefined, 'the main package installs everywhere (lakelink/wasm)')
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
    for (const f of ['scripts/pack.js', 'lib/platforms.js']) {
      fs.mkdirSync(path.dirname(path.join(pkg, f)), { recursive: true })
      fs.copyFileSync(path.join(PKG, f), path.join(pkg, f))
    }
    fs.writeFileSync(path.join(root, 'VERSION'), `${VERSION}\n`)
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'lakelink', version: '0.0.0-drift' }))
    const r = spawnSync(process.execPath, ['scripts/pack.js', 'prepack'], { cwd: pkg, encoding: 'utf8' })
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /package\.json has version 0\.0\.0-drift but .*VERSION says/)
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
})

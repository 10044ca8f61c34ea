'use strict'
// npm pack's hooks for the main package (`npm pack` / `npm publish` in
// bindings/node). `prepack` checks that package.json's version is the
// checkout's VERSION file (the one place it is written, which the library
// reports too), copies build/out/lakelink.wasm (from `make build`) into the
// package, and writes into package.json the per-platform library packages
// (lib/platforms.js) as optionalDependencies at that version; `postpack`
// removes the copy and puts package.json back as it was.
//
// Why the optionalDependencies are written only when packing: the checkout
// installs its development dependencies with `npm ci`, whose lock file
// cannot hold packages that exist only as tarballs `make dist` builds; in
// the checkout, lib/native.js loads build/out's library instead.

const fs = require('node:fs')
const path = require('node:path')
const { PLATFORMS } = require('../lib/platforms')

const PKG = path.resolve(__dirname, '..')
const ROOT = path.resolve(PKG, '..', '..')
const OUT = path.join(ROOT, 'build', 'out')
const MANIFEST = path.join(PKG, 'package.json')
const SAVED = path.join(PKG, '.package.json.orig') // package.json as it was, while packing
const WASM = 'lakelink.wasm'

const step = process.argv[2]
if (step === 'prepack') {
  const version = fs.readFileSync(path.join(ROOT, 'VERSION'), 'utf8').trim()
  const text = fs.existsSync(SAVED) ? fs.readFileSync(SAVED, 'utf8') : fs.readFileSync(MANIFEST, 'utf8')
  const manifest = JSON.parse(text)
  if (manifest.version !== version) {
    throw new Error(`package.json has version ${manifest.version} but ${path.join(ROOT, 'VERSION')} says ${version}: ` +
      'run `npm version --no-git-tag-version --allow-same-version "$(cat ../../VERSION)"` in bindings/node')
  }
  const wasm = path.join(OUT, WASM)
  if (!fs.existsSync(wasm)) throw new Error(`${wasm} is missing: run \`make build\` in the lakelink checkout before npm pack`)
  fs.copyFileSync(wasm, path.join(PKG, WASM))
  manifest.optionalDependencies = Object.fromEntries(PLATFORMS.map((p) => [p.pkg, version]))
  if (!fs.existsSync(SAVED)) fs.writeFileSync(SAVED, text)
  fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n')
} else if (step === 'postpack') {
  fs.rmSync(path.join(PKG, WASM), { force: true })
  if (fs.existsSync(SAVED)) fs.renameSync(SAVED, MANIFEST)
} else {
  throw new Error(`usage: node scripts/pack.js prepack|postpack, not ${step}`)
}

'use strict'
// npm pack's hooks: `prepack` checks that package.json's version is the
// checkout's VERSION file (the one place it is written, which the library
// reports too), then copies the library built for this platform
// (build/out/liblakelink.so, from `make build`) and, when it exists,
// build/out/lakelink.wasm into the package; `postpack` removes the copies,
// so that the source tree keeps loading build/out's.

const fs = require('node:fs')
const path = require('node:path')

const PKG = path.resolve(__dirname, '..')
const ROOT = path.resolve(PKG, '..', '..')
const OUT = path.join(ROOT, 'build', 'out')
const FILES = [['liblakelink.so', true], ['lakelink.wasm', false]] // [name, required]

const step = process.argv[2]
if (step === 'prepack') {
  const version = fs.readFileSync(path.join(ROOT, 'VERSION'), 'utf8').trim()
  const declared = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')).version
  if (declared !== version) {
    throw new Error(`package.json has version ${declared} but ${path.join(ROOT, 'VERSION')} says ${version}: ` +
      'run `npm version --no-git-tag-version --allow-same-version "$(cat ../../VERSION)"` in bindings/node')
  }
}
for (const [name, required] of FILES) {
  const copy = path.join(PKG, name)
  if (step === 'prepack') {
    const built = path.join(OUT, name)
    if (fs.existsSync(built)) fs.copyFileSync(built, copy)
    else if (required) throw new Error(`${built} is missing: run \`make build\` in the lakelink checkout before npm pack`)
  } else if (step === 'postpack') {
    fs.rmSync(copy, { force: true })
  } else {
    throw new Error(`usage: node scripts/pack.js prepack|postpack, not ${step}`)
  }
}

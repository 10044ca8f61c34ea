'use strict'
// npm pack's hooks: `prepack` copies the library built for this platform
// (build/out/liblakelink.so, from `make build`) and, when it exists,
// build/out/lakelink.wasm into the package; `postpack` removes the copies,
// so that the source tree keeps loading build/out's.

const fs = require('node:fs')
const path = require('node:path')

const PKG = path.resolve(__dirname, '..')
const OUT = path.resolve(PKG, '..', '..', 'build', 'out')
const FILES = [['liblakelink.so', true], ['lakelink.wasm', false]] // [name, required]

const step = process.argv[2]
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

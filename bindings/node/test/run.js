'use strict'
// Runs the native binding's test files with `node --test` against one
// emulator started here (the files find it through LAKELINK_TEST_EMULATOR).
// wasm*.test.js, the WASI module's, run under make test-wasm.

const fs = require('node:fs')
const path = require('node:path')
const { runWithEmulator } = require('./helpers')

const files = fs.readdirSync(__dirname).filter((f) => /\.test\.m?js$/.test(f) && !f.startsWith('wasm')).sort()
  .map((f) => path.join(__dirname, f))
runWithEmulator(files, 1).catch((e) => { console.error(e); process.exit(1) })

'use strict'
// Runs the native binding's test files with `node --test` against one
// emulator started here (the files find it through LAKELINK_TEST_EMULATOR).
// wasm*.test.js, the WASI module's, run under make test-wasm.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { startEmulator } = require('./helpers')

async function main () {
  const { proc, file } = await startEmulator()
  let status = 1
  try {
    const files = fs.readdirSync(__dirname).filter((f) => /\.test\.m?js$/.test(f) && !f.startsWith('wasm')).sort()
      .map((f) => path.join(__dirname, f))
    const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
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

main().catch((e) => { console.error(e); process.exit(1) })

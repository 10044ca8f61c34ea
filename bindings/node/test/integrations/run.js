'use strict'
// Runs the integration tests (node --test over this folder's *.test.js and
// *.test.mjs) against one emulator started here with --token-ttl 5s, so
// that the pools of pg, Postgres.js and the ORMs over them live across
// credential expiries. The files run 4 at a time: each mostly waits for a
// credential to expire, and none counts on the others being idle. `make test-node` installs this package's
// node_modules (npm ci) and runs this file.

const fs = require('node:fs')
const path = require('node:path')
const { runWithEmulator } = require('../helpers')
const { TTL_MS } = require('./common')

const files = fs.readdirSync(__dirname).filter((f) => /\.test\.m?js$/.test(f)).sort().map((f) => path.join(__dirname, f))
runWithEmulator(files, 4, ['--token-ttl', `${TTL_MS / 1000}s`]).catch((e) => { console.error(e); process.exit(1) })

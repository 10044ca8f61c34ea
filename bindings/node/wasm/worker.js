'use strict'
// The worker thread that runs lakelink.wasm. WebAssembly calls are
// synchronous, and so is the module's lakelink.http import: it posts the
// request to the main thread, which sends it with fetch, and blocks in
// Atomics.wait on a SharedArrayBuffer until the answer is on the port.

const fs = require('node:fs')
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads')
const { WASI } = require('node:wasi')

const { file, env, httpPort, signal } = workerData
const flag = new Int32Array(signal) // 0 while waiting for the main thread, 1 once the answer is posted

const wasi = new WASI({ version: 'preview1', env, args: ['lakelink.wasm'], returnOnExit: true })
let wasm = null

// Each WASI function wrapped in a plain JavaScript function: V8 calls
// Node's own ones through a fast path that keeps using the memory of
// before a memory.grow, which crashes the process once an answer makes the
// module's memory grow (nodejs/node#53087).
const wasiImport = Object.fromEntries(Object.entries(wasi.wasiImport).map(([name, f]) => [name, (...args) => f(...args)]))

/** Copies bytes into a buffer from lakelink_alloc and returns address<<32 | length. */
function lend (bytes) {
  const p = wasm.lakelink_alloc(bytes.length) >>> 0
  new Uint8Array(wasm.memory.buffer, p, bytes.length).set(bytes)
  return (BigInt(p) << 32n) | BigInt(bytes.length)
}

/** The lakelink.http import (wasm/README.md): request JSON in, response JSON out. */
function http (p, n) {
  const request = Buffer.from(new Uint8Array(wasm.memory.buffer, p >>> 0, n >>> 0)).toString('utf8')
  Atomics.store(flag, 0, 0)
  parentPort.postMessage({ http: request })
  Atomics.wait(flag, 0, 0)
  const answer = receiveMessageOnPort(httpPort)
  const response = answer ? answer.message : JSON.stringify({ error: 'lakelink: the main thread sent no HTTP answer' })
  return lend(Buffer.from(response, 'utf8'))
}

try {
  const compiled = new WebAssembly.Module(fs.readFileSync(file))
  const instance = new WebAssembly.Instance(compiled, { wasi_snapshot_preview1: wasiImport, lakelink: { http } })
  wasm = instance.exports
  wasi.initialize(instance) // a reactor: runs _initialize, the Go runtime's start
} catch (e) {
  parentPort.postMessage({ failed: `lakelink: cannot start ${file}: ${e.message}` })
  process.exit(1)
}

parentPort.on('message', ({ id, request }) => {
  let response
  try {
    const [p0, n0] = unpack(lend(Buffer.from(request, 'utf8')))
    const [p, n] = unpack(BigInt.asUintN(64, wasm.lakelink_call(p0, n0)))
    response = Buffer.from(new Uint8Array(wasm.memory.buffer, p, n)).toString('utf8')
    wasm.lakelink_free(p)
  } catch (e) { // a trap or an exit: the instance cannot be used again (wasm/README.md)
    parentPort.postMessage({ failed: `lakelink: the wasm module stopped (${e.message}); a new Module starts a fresh instance` })
    process.exit(1)
  }
  parentPort.postMessage({ id, response })
})

function unpack (packed) {
  return [Number(packed >> 32n), Number(packed & 0xffffffffn)]
}

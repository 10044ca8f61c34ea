'use strict'
// The freer thread (lib/freer.js): when its worker dies, nothing pushed on
// the ring is lost. (Its normal work is every other test's: each result's
// strings and batches are freed through it.)
const assert = require('node:assert/strict')
const { test } = require('node:test')
const { startFreer } = require('../lib/freer')

test('a freer whose worker dies hands what the ring held to the fallback, and refuses pushes from then on', async () => {
  const freed = []
  let allFreed
  const done = new Promise((resolve) => { allFreed = resolve })
  const alive = setTimeout(() => {}, 10000) // the worker is unref'd: something has to keep the loop going
  // the worker fails at once: it cannot load this library
  const ring = startFreer('/nonexistent/liblakelink.so', (address) => { freed.push(address); if (freed.length === 3) allFreed() })
  assert.ok(ring)
  for (const address of [0x1000n, 0x2000n, 0x3000n]) assert.equal(ring.push(address), true) // before its death is known
  await done
  assert.deepEqual(freed, [0x1000n, 0x2000n, 0x3000n])
  assert.equal(ring.push(0x4000n), false) // the caller frees otherwise
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(freed.length, 3) // each once, though both 'error' and 'exit' came
  clearTimeout(alive)
})

// The ESM entry point (index.mjs) exports, by name, every export of the
// CommonJS one (index.js), the same objects.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import * as esm from 'lakelink'

const cjs = createRequire(import.meta.url)('lakelink')

test('index.mjs exports every name index.js does, and nothing else', () => {
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort())
  for (const k of Object.keys(cjs)) assert.equal(esm[k], cjs[k], k)
  assert.equal(esm.default, cjs)
})

'use strict'
// The library's file name per OS (issue 19), as lib/native.js looks for it
// in a source checkout's build/out.
const test = require('node:test')
const assert = require('node:assert')
const { libraryName } = require('../lib/native')

test('libraryName names the library per platform', () => {
  assert.strictEqual(libraryName('win32'), 'lakelink.dll')
  assert.strictEqual(libraryName('darwin'), 'liblakelink.dylib')
  assert.strictEqual(libraryName('linux'), 'liblakelink.so')
  assert.strictEqual(libraryName(), libraryName(process.platform))
})

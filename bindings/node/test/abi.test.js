'use strict'
// The binding's view of the C ABI is lakelink.h's: every prototype
// lib/abi.js declares, the lakelink_error structure, the status codes
// (lib/errors.js) and LAKELINK_ABI_VERSION are read from the header and
// compared (no library is loaded). A function, field or status that changes
// in the header without the binding (or the other way round) fails here,
// not as a crash or a misread value at run time. The binding may leave out
// functions it does not call.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')
const { ABI_VERSION, ERROR_FIELDS, PROTOTYPES } = require('../lib/abi')
const { STATUS_CODES } = require('../lib/errors')

const HEADER = path.resolve(__dirname, '..', '..', '..', 'capi', 'lakelink.h')

/** 'const char *conn_str' -> { type: 'const char*', name: 'conn_str' }. */
function split (decl) {
  const m = /^(.*?)\s*(\w+)$/.exec(decl.trim().replace(/\s+/g, ' '))
  assert.ok(m, `cannot read the declaration ${JSON.stringify(decl)}`)
  return { type: m[1].replace(/\s*\*/g, '*'), name: m[2] }
}

/** A function declaration's return type, name and parameters. */
function signature (m) {
  const list = m[3].trim()
  return {
    ret: m[1].trim().replace(/\s*\*/g, '*'),
    name: m[2],
    params: list === '' || list === 'void' ? [] : list.split(',').map(split)
  }
}

/** What lakelink.h declares, read from its text. */
function readHeader () {
  const text = fs.readFileSync(HEADER, 'utf8').replace(/\/\*[\s\S]*?\*\//g, ' ')
  const defines = {}
  for (const m of text.matchAll(/^#define (LAKELINK_\w+) (-?\d+)\s*$/gm)) defines[m[1]] = Number(m[2])
  const struct = /typedef struct lakelink_error \{([\s\S]*?)\} lakelink_error;/.exec(text)
  assert.ok(struct, 'lakelink.h: no typedef struct lakelink_error')
  const errorFields = struct[1].split(';').filter((d) => d.trim()).map(split)
  const functions = new Map()
  for (const m of text.matchAll(/^([A-Za-z][\w ]*?[\s*]+)(lakelink_\w+)\(([^)]*)\);/gm)) functions.set(m[2], signature(m))
  // Not vacuous: the parser found what the header is known to hold.
  assert.ok(functions.size >= 25 && functions.get('lakelink_query').params.length === 13, [...functions.keys()].join(' '))
  assert.ok(errorFields.length >= 8 && 'LAKELINK_ABI_VERSION' in defines && 'LAKELINK_OK' in defines)
  return { defines, errorFields, functions }
}

/**
 * The type a prototype in lib/abi.js gives a C type of the header: what
 * the library allocates or fills (strings, buffers, errors, integers) is
 * an `_Out_` parameter, and an error passed back to be freed a void *.
 */
function koffiType (cType) {
  if (['char**', 'uint8_t**', 'lakelink_error**'].includes(cType)) return '_Out_ void**'
  if (/^u?int(32|64)_t\*$/.test(cType)) return `_Out_ ${cType}`
  if (cType === 'lakelink_error*') return 'void*'
  return cType
}

const header = readHeader()

test('every prototype in lib/abi.js has lakelink.h\'s return type, parameter count, types and names', () => {
  const wrong = []
  for (const proto of PROTOTYPES) {
    const m = /^(.*?[\s*])(lakelink_\w+)\((.*)\)$/.exec(proto)
    assert.ok(m, `lib/abi.js: cannot read ${proto}`)
    const got = signature(m)
    const want = header.functions.get(got.name)
    if (!want) {
      wrong.push(`${got.name}: not in lakelink.h`)
      continue
    }
    if (got.ret !== want.ret) wrong.push(`${got.name}: returns ${got.ret}, lakelink.h says ${want.ret}`)
    if (got.params.length !== want.params.length) {
      wrong.push(`${got.name}: ${got.params.length} parameters, lakelink.h has ${want.params.length} ` +
        `(${want.params.map((p) => `${p.type} ${p.name}`).join(', ')})`)
      continue
    }
    want.params.forEach((p, i) => {
      const expected = `${koffiType(p.type)} ${p.name}`
      const actual = `${got.params[i].type} ${got.params[i].name}`
      if (actual !== expected) wrong.push(`${got.name}: parameter ${i} is ${actual}, lakelink.h's ${p.type} ${p.name} is ${expected}`)
    })
  }
  assert.deepEqual(wrong, [], `lib/abi.js's PROTOTYPES differ from capi/lakelink.h:\n${wrong.join('\n')}`)
})

test('lakelink_error\'s fields are lakelink.h\'s, in order and of its types', () => {
  const koffiField = { int32_t: 'int32_t', 'char*': 'const char *' }
  const want = header.errorFields.map((f) => [f.name, koffiField[f.type] ?? `(no koffi type for ${f.type})`])
  assert.deepEqual(Object.entries(ERROR_FIELDS), want)
})

test('the status codes and the ABI version are lakelink.h\'s', () => {
  const want = {}
  for (const [name, value] of Object.entries(header.defines)) {
    const m = /^LAKELINK_ERR_(\w+)$/.exec(name)
    if (m) want[value] = `LAKELINK_${m[1]}`
  }
  assert.deepEqual(STATUS_CODES, want)
  assert.equal(header.defines.LAKELINK_OK, 0)
  assert.equal(ABI_VERSION, header.defines.LAKELINK_ABI_VERSION)
})

'use strict'
// Connection strings: properties given as an object join a string through
// the core (lakelink_connstr_merge), which knows the grammar, the property
// names and their aliases. Both calls only parse: they do not block.

const { lib, check, takeString, cstr } = require('./native')

const text = (v) => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v))

/** connectionString with properties applied (a null or undefined value removes the property). */
function build (connectionString, properties) {
  const base = cstr(connectionString ?? '', 'the connection string')
  const keys = properties ? Object.keys(properties) : []
  if (keys.length === 0) return base
  const fields = {}
  for (const k of keys) fields[k] = text(properties[k])
  const L = lib()
  const out = [null]
  const err = [null]
  check(L.connstr_merge(base, JSON.stringify(fields), out, err), err)
  return takeString(out[0])
}

/** The core's view of a connection string: {normalized, properties}, every secret shown as "***". */
function normalize (connectionString) {
  const L = lib()
  const out = [null]
  const err = [null]
  check(L.connstr_normalize(cstr(connectionString, 'the connection string'), out, err), err)
  return JSON.parse(takeString(out[0]))
}

/**
 * Splits the {connectionString, ...properties} options that App, token and
 * the OAuth procedures take (a string alone is a connection string) into a
 * connection string.
 */
function fromOptions (options) {
  if (options === undefined || options === null) return ''
  if (typeof options === 'string') return build(options)
  if (typeof options !== 'object') throw new TypeError('lakelink: give a connection string or {connectionString, ...properties}')
  const { connectionString, ...properties } = options
  return build(connectionString, properties)
}

module.exports = { build, normalize, fromOptions }

'use strict'
// Connection strings: properties given as an object join a string through
// the core (lakelink_connstr_merge), which knows the grammar, the property
// names and their aliases. Both calls only parse: they do not block.

const { lib, check, takeString, cstr } = require('./native')
const options = require('./options')

/** connectionString with properties applied (a null or undefined value removes the property). */
function build (connectionString, properties) {
  return merge(connectionString ?? '', options.propertyTexts(properties))
}

/** connectionString with fields ({name: text}, or null for none) applied by the core. */
function merge (connectionString, fields) {
  const base = cstr(connectionString, 'the connection string')
  if (!fields) return base
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
function fromOptions (given) {
  return options.fromOptions(given, merge)
}

module.exports = { build, normalize, fromOptions }

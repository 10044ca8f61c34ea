'use strict'
// The {connectionString, ...properties} options that App, token and the
// OAuth procedures take, split without the native library so that
// require('lakelink/wasm') shares them: the core merges the properties
// (lib/connstr.js through the C ABI, wasm/index.js through the module).

/** A property's value as the core's merge takes it: null removes the property, booleans are true/false. */
const text = (v) => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v))

/** properties ({name: value}) as {name: text}, or null when there are none. */
function propertyTexts (properties) {
  const keys = properties ? Object.keys(properties) : []
  if (keys.length === 0) return null
  const fields = {}
  for (const k of keys) fields[k] = text(properties[k])
  return fields
}

/**
 * The connection string for options (a string alone is a connection
 * string; nothing is ''): merge(connectionString, fields) gives it, fields
 * being the properties as propertyTexts gives them (null for none).
 */
function fromOptions (options, merge) {
  if (options === undefined || options === null) return merge('', null)
  if (typeof options === 'string') return merge(options, null)
  if (typeof options !== 'object') throw new TypeError('lakelink: give a connection string or {connectionString, ...properties}')
  const { connectionString, ...properties } = options
  return merge(connectionString ?? '', propertyTexts(properties))
}

module.exports = { propertyTexts, fromOptions }

'use strict'
// A result in node-postgres's shape: {command, rowCount, rows, fields}, its
// fields from lakelink_result_columns's JSON, its rows from decoded
// columnar batches.

/** The fields of a result, node-postgres style, from lakelink_result_columns's JSON. */
function fieldsOf (json) {
  return JSON.parse(json).map((c) => ({ name: c.name, dataTypeID: c.type_oid, typeName: c.type_name }))
}

/** The rows of a decoded batch: objects keyed by column name (a later column of the same name wins, as in pg), or arrays. */
function rowsOf (decoded, fields, arrayMode) {
  const { rows: n, values } = decoded
  const ncols = values.length
  const out = new Array(n)
  if (arrayMode) {
    for (let r = 0; r < n; r++) {
      const row = new Array(ncols)
      for (let c = 0; c < ncols; c++) row[c] = values[c][r]
      out[r] = row
    }
    return out
  }
  const names = fields.map((f) => f.name)
  const define = names.includes('__proto__') // a key that plain assignment would not create
  for (let r = 0; r < n; r++) {
    const row = {}
    for (let c = 0; c < ncols; c++) {
      if (define) Object.defineProperty(row, names[c], { value: values[c][r], enumerable: true, writable: true, configurable: true })
      else row[names[c]] = values[c][r]
    }
    out[r] = row
  }
  return out
}

/**
 * The command tag's verb and node-postgres's rowCount: the library's rows
 * affected (lakebase.RowCount, the rule every binding shares), null where
 * that is -1 (a command without a count, such as CREATE TABLE or SET).
 */
function commandOf (tag, affected) {
  const m = /^([A-Za-z]+)/.exec(tag)
  return { command: m ? m[1] : (tag || null), rowCount: Number(affected) < 0 ? null : Number(affected) }
}

/** A whole result, as query() resolves with it. */
function resultOf (rows, fields, tag, affected) {
  const { command, rowCount } = commandOf(tag, affected)
  return { command, rowCount, rows, fields }
}

module.exports = { fieldsOf, rowsOf, resultOf }

'use strict'
// A statement's arguments, as query() and stream() take them, checked and
// encoded before a session is taken.

const { cstr } = require('./native')
const params = require('./params')

/**
 * The statement of (text, values) or ({text, values, rowMode, int8,
 * signal}, values), with stream()'s options ({batchSize, signal}) merged
 * in: {text (a C string), params (the encoded values), rowMode, int8,
 * batchSize, signal}. As in node-postgres, values given beside a config
 * are its values (Drizzle's node-postgres driver passes them so), and a
 * config's other fields (name, types) are not read: the core prepares and
 * decodes. Throws a TypeError naming what is wrong.
 */
function statement (textOrConfig, values, options) {
  const cfg = typeof textOrConfig === 'string'
    ? { ...options, text: textOrConfig, values }
    : { ...textOrConfig, ...(values !== undefined && { values }), ...options }
  if (typeof cfg.text !== 'string') throw new TypeError('lakelink: a query needs its SQL text: query(text, values) or query({text, values})')
  if (cfg.rowMode !== undefined && cfg.rowMode !== 'array') throw new TypeError(`lakelink: rowMode ${cfg.rowMode}: only 'array' is known`)
  if (cfg.signal !== undefined && !(cfg.signal instanceof AbortSignal)) throw new TypeError('lakelink: signal must be an AbortSignal')
  if (cfg.batchSize !== undefined && !(Number.isInteger(cfg.batchSize) && cfg.batchSize > 0 && cfg.batchSize <= 2 ** 31 - 1)) {
    throw new TypeError(`lakelink: batchSize ${cfg.batchSize}: a whole number of rows from 1 to 2147483647`)
  }
  return {
    text: cstr(cfg.text, 'the SQL text'),
    params: params.encode(cfg.values),
    rowMode: cfg.rowMode,
    int8: cfg.int8,
    batchSize: cfg.batchSize,
    signal: cfg.signal
  }
}

module.exports = { statement }

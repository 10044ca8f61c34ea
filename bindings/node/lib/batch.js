'use strict'
// The columnar batch decoder (TYPES.md, "FormatColumnar (version 1)"): each
// column is converted whole, fixed-width ones through typed arrays over the
// batch, then rows are assembled from the columns.

const { InterfaceError } = require('./errors')

const MAGIC = 0x4243_4c4c // "LLCB" read little-endian
const EPOCH_DAYS = 10957 // days from 1970-01-01 to 2000-01-01
const EPOCH_MS = 946684800000
const DAY_MS = 86400000
const DATE_INF = 2147483647
const DATE_NEG_INF = -2147483648
const TS_INF = 9223372036854775807n
const TS_NEG_INF = -9223372036854775808n

const align8 = (n) => (n + 7) & ~7

/** "HH:MM:SS[.ffffff]" (trailing zeros of the fraction removed) for µs since midnight. */
function timeText (us) {
  const secs = Math.floor(us / 1e6)
  const frac = us - secs * 1e6
  const hh = Math.floor(secs / 3600)
  const mm = Math.floor(secs / 60) % 60
  const ss = secs % 60
  let s = `${hh < 10 ? '0' : ''}${hh}:${mm < 10 ? '0' : ''}${mm}:${ss < 10 ? '0' : ''}${ss}`
  if (frac) s += '.' + String(frac).padStart(6, '0').replace(/0+$/, '')
  return s
}

/** A Date for ms since 1970, or a RangeError naming the column when Date cannot hold it. */
function dateOf (ms, col) {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) {
    throw new RangeError(`lakelink: column ${JSON.stringify(col.name)} (${col.typeName}): ` +
      'the value is beyond the range of a JavaScript Date (±275,760 years); cast it to text in SQL to read it')
  }
  return d
}

const dateOfDays = (days, col) =>
  days === DATE_INF ? Infinity : days === DATE_NEG_INF ? -Infinity : dateOf((days + EPOCH_DAYS) * DAY_MS, col)

/** Unix ms for µs since 2000 given as a BigInt (floor division, exact). */
const msOfMicros = (us) => Number(us / 1000n - (us % 1000n < 0n ? 1n : 0n)) + EPOCH_MS

const timestampOfMicros = (us, col) =>
  us === TS_INF ? Infinity : us === TS_NEG_INF ? -Infinity : dateOf(msOfMicros(us), col)

function texts (ab, off, len, n) {
  return n ? Buffer.from(ab, off, len).toString('utf8').split('\0') : []
}

function timestamps (ab, off, n, col) {
  const w = new Int32Array(ab, off, 2 * n)
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    const hi = w[2 * i + 1]
    if (hi >= -0x200000 && hi < 0x200000) { // within ±2^53 µs of 2000: exact as a double
      out[i] = new Date(Math.floor((hi * 4294967296 + (w[2 * i] >>> 0)) / 1000) + EPOCH_MS)
    } else {
      out[i] = timestampOfMicros(new BigInt64Array(ab, off + 8 * i, 1)[0], col)
    }
  }
  return out
}

/** Numbers from n little-endian int64 values that are within ±2^53. */
function smallInt64s (ab, off, n) {
  const w = new Int32Array(ab, off, 2 * n)
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = w[2 * i + 1] * 4294967296 + (w[2 * i] >>> 0)
  return out
}

// Per kind: (ab, offset, length, rows, column, options) => an Array of n values.
const DECODERS = {
  1: texts,
  2: (ab, off, len, n) => Array.from(new Uint8Array(ab, off, n), (b) => b === 1),
  3: (ab, off, len, n) => Array.from(new Int32Array(ab, off, n)),
  4: (ab, off, len, n, col, opts) => opts.int8 === 'string'
    ? Array.from(new BigInt64Array(ab, off, n), String)
    : Array.from(new BigInt64Array(ab, off, n)),
  5: (ab, off, len, n) => Array.from(new Float64Array(ab, off, n)),
  6: texts,
  7: (ab, off, len, n) => {
    const offs = new Uint32Array(ab, off, n + 1)
    const data = Buffer.from(new Uint8Array(ab, off + 4 * (n + 1), offs[n])) // one copy, then views of it
    const out = new Array(n)
    for (let i = 0; i < n; i++) out[i] = data.subarray(offs[i], offs[i + 1])
    return out
  },
  8: (ab, off, len, n, col) => Array.from(new Int32Array(ab, off, n), (d) => dateOfDays(d, col)),
  9: (ab, off, len, n) => smallInt64s(ab, off, n).map(timeText),
  10: (ab, off, len, n, col) => timestamps(ab, off, n, col),
  11: (ab, off, len, n, col) => timestamps(ab, off, n, col),
  12: (ab, off, len, n) => {
    const us = smallInt64s(ab, off, n)
    const days = new Int32Array(ab, off + 8 * n, n)
    const months = new Int32Array(ab, off + 12 * n, n)
    const out = new Array(n)
    for (let i = 0; i < n; i++) out[i] = { months: months[i], days: days[i], microseconds: us[i] }
    return out
  },
  13: (ab, off, len, n) => {
    const hex = Buffer.from(ab, off, 16 * n).toString('hex')
    const out = new Array(n)
    for (let i = 0, h = 0; i < n; i++, h += 32) {
      out[i] = `${hex.slice(h, h + 8)}-${hex.slice(h + 8, h + 12)}-${hex.slice(h + 12, h + 16)}-` +
        `${hex.slice(h + 16, h + 20)}-${hex.slice(h + 20, h + 32)}`
    }
    return out
  },
  14: (ab, off, len, n) => texts(ab, off, len, n).map((t) => JSON.parse(t)),
  15: (ab, off, len, n, col, opts, elemKind) => {
    const convert = elementConverter(elemKind, col, opts)
    return texts(ab, off, len, n).map((t) => convertArray(JSON.parse(t), elemKind, convert))
  }
}

const FLOAT_WORDS = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }
const INFINITIES = { infinity: Infinity, '-infinity': -Infinity }

/** The converter of an array element from its JSON form (TYPES.md, "JSON forms"). */
function elementConverter (kind, col, opts) {
  switch (kind) {
    case 4: return opts.int8 === 'string' ? (v) => v : (v) => BigInt(v)
    case 5: return (v) => (typeof v === 'string' ? FLOAT_WORDS[v] : v)
    case 7: return (v) => Buffer.from(v, 'base64')
    case 8: return (v) => (typeof v === 'string' ? INFINITIES[v] : dateOf((v + EPOCH_DAYS) * DAY_MS, col))
    case 9: return timeText
    case 10:
    case 11: return (v) => (typeof v === 'string' ? INFINITIES[v] : dateOf(Math.floor(v / 1000) + EPOCH_MS, col))
    case 12: return (v) => ({ months: v[0], days: v[1], microseconds: v[2] })
    case 14: return (v) => v[0]
    default: return null // text, bool, int32, numeric, uuid: the JSON value is the value
  }
}

/**
 * Converts an array column's value in place. Elements of kinds whose JSON
 * form is an array are told from sub-arrays: an interval is three numbers;
 * a json element is [doc], which a sub-array can look like, so json arrays
 * are read as one-dimensional (a multidimensional json[] comes back with
 * its sub-arrays' [doc] forms as they are).
 */
function convertArray (a, kind, convert) {
  if (a === null || convert === null) return a
  for (let i = 0; i < a.length; i++) {
    const v = a[i]
    if (v === null) continue
    const sub = kind === 14 ? false : kind === 12 ? typeof v[0] !== 'number' : Array.isArray(v)
    a[i] = sub ? convertArray(v, kind, convert) : convert(v)
  }
  return a
}

/**
 * Decodes a columnar batch in ab (an ArrayBuffer whose memory is 8-aligned),
 * from its byte base (a multiple of 8; 0: ab is the batch), for the
 * result's columns ({name, typeName}); returns the columns' values, one
 * Array per column, NULLs as null.
 */
function decodeColumns (ab, columns, opts, base = 0) {
  try {
    return decodeLayout(ab, columns, opts, base)
  } catch (e) { // a damaged batch fails in many ways (typed array bounds, JSON, ...); all are this one error
    if (e instanceof InterfaceError || (e instanceof RangeError && e.message.startsWith('lakelink: column'))) throw e
    throw new InterfaceError(`lakelink: undecodable result batch: ${e.name}: ${e.message}`)
  }
}

function decodeLayout (ab, columns, opts, base) {
  const dv = new DataView(ab)
  if (ab.byteLength - base < 16 || dv.getUint32(base, true) !== MAGIC) throw new InterfaceError('lakelink: not a columnar batch')
  const version = dv.getUint16(base + 4, true)
  if (version !== 1) throw new InterfaceError(`lakelink: batch format version ${version}; this binding reads version 1`)
  const ncols = dv.getUint16(base + 6, true)
  const n = dv.getUint32(base + 8, true)
  if (ncols !== columns.length) {
    throw new InterfaceError(`lakelink: a batch of ${ncols} columns for a result of ${columns.length}`)
  }
  const out = new Array(ncols)
  let off = base + 16
  for (let c = 0; c < ncols; c++) {
    off = align8(off)
    const kind = dv.getUint8(off)
    const flags = dv.getUint8(off + 1)
    const elemKind = dv.getUint8(off + 2)
    const len = dv.getUint32(off + 4, true)
    off += 8
    let nulls = null
    if (flags & 1) {
      nulls = new Uint8Array(ab, off, n)
      off = align8(off + n)
    }
    const decode = DECODERS[kind]
    if (!decode) throw new InterfaceError(`lakelink: column ${c} has kind ${kind}, which this binding does not know`)
    const values = decode(ab, off, len, n, columns[c], opts, elemKind)
    if (values.length !== n) throw new InterfaceError(`lakelink: column ${c} of a batch of ${n} rows holds ${values.length} values`)
    if (nulls) for (let i = 0; i < n; i++) if (nulls[i]) values[i] = null
    out[c] = values
    off += len
  }
  return { rows: n, values: out }
}

module.exports = { decodeColumns, timeText }

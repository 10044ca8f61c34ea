'use strict'
// The parameter encoding (TYPES.md, "Parameters (version 1)"): the values
// of $1..$n in one buffer, each a tag and its payload. The core turns them
// into what PostgreSQL receives and refuses bad values, naming the
// parameter, with SQLSTATE 22023.

const EPOCH_MS = 946684800000
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const MAX_DEPTH = 6 // PostgreSQL's limit on array dimensions

/** A growable little-endian byte writer. */
class Writer {
  constructor () {
    this.buf = Buffer.allocUnsafe(256)
    this.off = 0
  }

  room (n) {
    if (this.off + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n))
    this.buf.copy(bigger, 0, 0, this.off)
    this.buf = bigger
  }

  u8 (v) { this.room(1); this.buf[this.off++] = v }
  u32 (v) { this.room(4); this.buf.writeUInt32LE(v, this.off); this.off += 4 }
  i64 (v) { this.room(8); this.buf.writeBigInt64LE(v, this.off); this.off += 8 }
  f64 (v) { this.room(8); this.buf.writeDoubleLE(v, this.off); this.off += 8 }

  /** tag, u32 length, then the string's UTF-8 bytes. */
  text (tag, s) {
    const n = Buffer.byteLength(s)
    this.room(5 + n)
    this.buf[this.off++] = tag
    this.buf.writeUInt32LE(n, this.off)
    this.buf.write(s, this.off + 4)
    this.off += 4 + n
  }

  /** tag, u32 length, then the bytes. */
  bytes (tag, b) {
    this.room(5 + b.length)
    this.buf[this.off++] = tag
    this.buf.writeUInt32LE(b.length, this.off)
    this.buf.set(b, this.off + 4)
    this.off += 4 + b.length
  }
}

function isPlainObject (v) {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function value (w, v, depth) {
  switch (typeof v) {
    case 'undefined': return w.u8(0)
    case 'string': return w.text(1, v)
    case 'boolean': w.u8(2); return w.u8(v ? 1 : 0)
    case 'number':
      if (Number.isSafeInteger(v)) { w.u8(4); return w.i64(BigInt(v)) }
      w.u8(5); return w.f64(v)
    case 'bigint':
      if (v >= INT64_MIN && v <= INT64_MAX) { w.u8(4); return w.i64(v) }
      return w.text(6, v.toString())
    case 'object': break
    default: throw new TypeError(`cannot send a ${typeof v}`)
  }
  if (v === null) return w.u8(0)
  if (v instanceof Uint8Array) return w.bytes(7, v)
  if (v instanceof ArrayBuffer) return w.bytes(7, new Uint8Array(v))
  if (v instanceof Date) {
    const ms = v.getTime()
    if (Number.isNaN(ms)) throw new TypeError('an invalid Date')
    w.u8(11)
    return w.i64(BigInt(ms - EPOCH_MS) * 1000n)
  }
  if (Array.isArray(v)) {
    if (depth >= MAX_DEPTH) throw new TypeError(`arrays nest at most ${MAX_DEPTH} deep in PostgreSQL`)
    w.u8(15)
    w.u32(v.length)
    for (const e of v) value(w, e, depth + 1)
    return
  }
  if (isPlainObject(v)) return w.text(14, JSON.stringify(v))
  throw new TypeError(`cannot send a ${v.constructor?.name || 'object'}: pass a string, number, bigint, boolean, ` +
    'Date, Buffer, Array, a plain object (sent as JSON) or null')
}

/** The parameter buffer for values, or null for none. */
function encode (values) {
  if (values === undefined || values === null || values.length === 0) return null
  if (!Array.isArray(values)) throw new TypeError(`lakelink: query parameters must be an Array, not ${typeof values}`)
  if (values.length > 65535) throw new RangeError(`lakelink: ${values.length} parameters: PostgreSQL takes at most 65535`)
  const w = new Writer()
  w.u32(0x4250_4c4c) // "LLPB"
  w.u8(1); w.u8(0) // version 1
  w.u8(values.length & 0xff); w.u8(values.length >> 8)
  for (let i = 0; i < values.length; i++) {
    try {
      value(w, values[i], 0)
    } catch (e) {
      e.message = `lakelink: parameter $${i + 1}: ${e.message}`
      throw e
    }
  }
  return w.buf.subarray(0, w.off)
}

module.exports = { encode }

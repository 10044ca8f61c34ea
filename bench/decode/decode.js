// Decode the batches written by `go run ./bench/decode` into native Node
// values, the way the Node binding would, and time it.
//
//   node decode.js DIR [REPS]
//
// Each candidate turns its batch into the same array of row arrays
// (number, BigInt for int8, string for numeric, string, Date, boolean,
// Buffer, null), which is checked; the timings go to DIR/node.json.
'use strict'

const fs = require('node:fs')
const util = require('node:util')

const PG_EPOCH_MS = 946684800000 // 2000-01-01T00:00:00Z

// --- columnar (TYPES.md, "FormatColumnar") -------------------------------

function texts (ab, off, len, n) {
  return n ? Buffer.from(ab, off, len).toString('utf8').split('\0') : []
}

// micros since 2000 (int64 as lo/hi halves) to a Date, millisecond
// precision, rounding toward negative infinity.
function timestamps (ab, off, n) {
  const w = new Int32Array(ab, off, 2 * n)
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    const hi = w[2 * i + 1]
    const lo = w[2 * i] >>> 0
    out[i] = new Date(Math.floor((hi * 4294967296 + lo) / 1000) + PG_EPOCH_MS)
  }
  return out
}

const COLUMNAR = {
  1: texts,
  2: (ab, off, len, n) => { const u = new Uint8Array(ab, off, n); const o = new Array(n); for (let i = 0; i < n; i++) o[i] = u[i] !== 0; return o },
  3: (ab, off, len, n) => new Int32Array(ab, off, n),
  4: (ab, off, len, n) => new BigInt64Array(ab, off, n),
  5: (ab, off, len, n) => new Float64Array(ab, off, n),
  6: texts,
  7: (ab, off, len, n) => {
    // One copy of the column's bytes, then a view per value: a Buffer per
    // value costs ~1 µs, a view ~60 ns; the views pin this column's bytes
    // only, not the batch.
    const offs = new Uint32Array(ab, off, n + 1)
    const data = Buffer.from(new Uint8Array(ab, off + 4 * (n + 1), offs[n]))
    const o = new Array(n)
    for (let i = 0; i < n; i++) o[i] = data.subarray(offs[i], offs[i + 1])
    return o
  },
  11: (ab, off, len, n) => timestamps(ab, off, n),
  14: (ab, off, len, n) => texts(ab, off, len, n).map((s) => JSON.parse(s))
}

function decodeColumnar (buf) {
  let ab = buf.buffer
  let base = buf.byteOffset
  if (base % 8 !== 0) { // typed arrays need aligned offsets: copy
    const copy = new Uint8Array(buf.length)
    copy.set(buf)
    ab = copy.buffer
    base = 0
  }
  const dv = new DataView(ab, base, buf.length)
  if (dv.getUint32(0, true) !== 0x42434c4c) throw new Error('not a columnar batch') // "LLCB"
  const version = dv.getUint16(4, true)
  const ncols = dv.getUint16(6, true)
  const n = dv.getUint32(8, true)
  if (version !== 1 || dv.getUint32(12, true) !== buf.length) throw new Error('unsupported version or truncated batch')
  const cols = new Array(ncols)
  const nullMaps = new Array(ncols)
  let off = 16
  for (let c = 0; c < ncols; c++) {
    off = (off + 7) & ~7
    const kind = dv.getUint8(off)
    const flags = dv.getUint8(off + 1)
    const blen = dv.getUint32(off + 4, true)
    off += 8
    nullMaps[c] = null
    if (flags & 1) {
      nullMaps[c] = new Uint8Array(ab, base + off, n)
      off = (off + n + 7) & ~7
    }
    cols[c] = COLUMNAR[kind](ab, base + off, blen, n)
    off += blen
  }
  const rows = new Array(n)
  for (let i = 0; i < n; i++) {
    const row = new Array(ncols)
    for (let c = 0; c < ncols; c++) {
      const nulls = nullMaps[c]
      row[c] = nulls !== null && nulls[i] !== 0 ? null : cols[c][i]
    }
    rows[i] = row
  }
  return rows
}

// --- json (TYPES.md, "FormatJSON") ---------------------------------------

const JSON_CONV = {
  int64: BigInt,
  float64: (v) => typeof v === 'string' ? Number(v) : v,
  bytes: (v) => Buffer.from(v, 'base64'),
  timestamptz: (us) => new Date(Math.floor(us / 1000) + PG_EPOCH_MS)
}

function decodeJSON (buf) {
  const doc = JSON.parse(buf.toString('utf8'))
  const rows = doc.rows
  const convs = []
  doc.kinds.forEach((k, j) => { if (JSON_CONV[k]) convs.push([j, JSON_CONV[k]]) })
  for (const r of rows) {
    for (const [j, f] of convs) {
      const v = r[j]
      if (v !== null) r[j] = f(v)
    }
  }
  return rows
}

function decodeJSONColumns (buf) {
  const doc = JSON.parse(buf.toString('utf8'))
  const cols = doc.columns
  doc.kinds.forEach((k, j) => {
    const f = JSON_CONV[k]
    if (f) cols[j] = cols[j].map((v) => v === null ? null : f(v))
  })
  const n = doc.rows
  const rows = new Array(n)
  for (let i = 0; i < n; i++) {
    const row = new Array(cols.length)
    for (let c = 0; c < cols.length; c++) row[c] = cols[c][i]
    rows[i] = row
  }
  return rows
}

const CANDIDATES = { columnar: decodeColumnar, json: decodeJSON, 'json-columns': decodeJSONColumns }

function main () {
  const dir = process.argv[2]
  const reps = Number(process.argv[3] || 30)
  const bufs = {}
  let reference = null
  for (const [name, decode] of Object.entries(CANDIDATES)) {
    bufs[name] = fs.readFileSync(`${dir}/batch.${name}`)
    const rows = decode(bufs[name])
    if (reference === null) reference = rows
    else if (!util.isDeepStrictEqual(rows, reference)) {
      const bad = rows.findIndex((r, i) => !util.isDeepStrictEqual(r, reference[i]))
      throw new Error(`${name}: row ${bad} differs: ${util.inspect(rows[bad])} != ${util.inspect(reference[bad])}`)
    }
    for (let i = 0; i < 5; i++) decode(bufs[name]) // warm up the JIT
  }
  // Round-robin, so that the machine's noise spreads over all candidates.
  const times = Object.fromEntries(Object.keys(CANDIDATES).map((k) => [k, []]))
  for (let r = 0; r < reps; r++) {
    for (const [name, decode] of Object.entries(CANDIDATES)) {
      const start = process.hrtime.bigint()
      decode(bufs[name])
      times[name].push(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }
  const results = []
  const n = reference.length
  for (const [name, ts] of Object.entries(times)) {
    ts.sort((a, b) => a - b)
    const med = ts[Math.floor(ts.length / 2)]
    results.push({ format: name, rows: n, median_ms: med, min_ms: ts[0], ns_per_row: med * 1e6 / n, reps })
    console.log(`node   ${name.padEnd(20)} median ${med.toFixed(2).padStart(7)} ms  min ${ts[0].toFixed(2).padStart(7)} ms  (${(med * 1e6 / n).toFixed(0).padStart(5)} ns/row)`)
  }
  fs.writeFileSync(`${dir}/node.json`, JSON.stringify({ node: process.version, results }, null, 2))
}

main()

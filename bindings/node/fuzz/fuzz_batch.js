'use strict'
// Mutation fuzzing of the columnar batch decoder, decodeColumns in
// lib/batch.js. `make fuzz` runs it for 60 seconds: node fuzz/fuzz_batch.js
// [seconds] [seed]. It needs nothing but Node: it mutates real batches
// (corpus/, encoded by the Go core from PostgreSQL query results) with
// byte-level and layout-aware mutations, and keeps any input that ends in a
// new way.
//
// For every input, decodeColumns must return one array of `rows` values per
// column, or throw an InterfaceError, or the RangeError naming the column
// that it documents for a date beyond a JavaScript Date. Anything else
// (a TypeError, a typed array's RangeError, a hang) is a failure: failing
// inputs go to crashes/ and the exit status is 1.

const fs = require('node:fs')
const path = require('node:path')
const { decodeColumns } = require('../lib/batch')
const { InterfaceError } = require('../lib/errors')

const seconds = Number(process.argv[2] || 60)
let seed = Number(process.argv[3] || Math.floor(Math.random() * 2 ** 32))
const firstSeed = seed
function rand (n) { // xorshift32: reproducible from the seed
  seed ^= seed << 13; seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5; seed >>>= 0
  return seed % n
}

const INTERESTING = [[0], [0xff], [0x7f], [0x80], [0xff, 0xff, 0xff, 0x7f], [0, 0, 0, 0x80], [0xff, 0xff, 0xff, 0xff],
  [1, 0, 0, 0], [8, 0, 0, 0], [0x40, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0xf0, 0x7f]]

function mutate (data, corpus) {
  const b = Array.from(data)
  for (let k = [1, 1, 2, 3, 5][rand(5)]; k > 0; k--) {
    const pos = rand(b.length + 1)
    switch (rand(8)) {
      case 0: if (b.length) b[rand(b.length)] ^= 1 << rand(8); break
      case 1: if (b.length) b[rand(b.length)] = rand(256); break
      case 2: { // a column header field: kind, flags, element kind, or length
        const at = 16 + 8 * rand(Math.max(1, (b.length - 16) >> 3))
        if (at + 8 <= b.length) b[at + [0, 1, 2, 4, 5, 6, 7][rand(7)]] = rand(256)
        break
      }
      case 3: b.splice(pos, 0, ...INTERESTING[rand(INTERESTING.length)]); break
      case 4: b.splice(pos, 1 + rand(16)); break
      case 5: { const s = rand(b.length + 1); b.splice(pos, 0, ...b.slice(s, s + 1 + rand(32))); break }
      case 6: { const o = corpus[rand(corpus.length)]; const s = rand(o.length + 1); b.splice(pos, 0, ...o.slice(s, s + 1 + rand(64))); break }
      case 7: if (pos >= 16) b.length = pos; break
    }
  }
  return Uint8Array.from(b)
}

/** How decoding ends: [signature, failure or null]. */
function outcome (data) {
  const ab = new ArrayBuffer(data.length)
  new Uint8Array(ab).set(data)
  const ncols = data.length >= 8 ? data[6] | (data[7] << 8) : 0
  const columns = Array.from({ length: ncols }, (_, i) => ({ name: `c${i}`, typeName: 'fuzz' }))
  let r
  try {
    r = decodeColumns(ab, columns, { int8: rand(2) ? 'string' : 'bigint' })
  } catch (e) {
    if (e instanceof InterfaceError) return ['error:' + e.message.replace(/\d+/g, 'N').slice(0, 50), null]
    if (e instanceof RangeError && e.message.startsWith('lakelink: column')) return ['date range', null]
    return ['crash', `${e.name}: ${e.message}`.slice(0, 300)]
  }
  if (!r || r.values.length !== ncols || r.values.some((v) => !Array.isArray(v) || v.length !== r.rows)) {
    return ['crash', `decodeColumns returned ${r && r.values.length} columns for ${ncols}, or columns of other than ${r && r.rows} rows`]
  }
  return ['ok:' + [...new Set(r.values.flatMap((v) => v.slice(0, 3).map((x) => x === null ? 'null' : typeof x)))].sort(), null]
}

const here = __dirname
const corpus = fs.readdirSync(path.join(here, 'corpus')).sort().map((f) => Uint8Array.from(fs.readFileSync(path.join(here, 'corpus', f))))
const seen = new Set()
for (const data of corpus) {
  const [sig, failure] = outcome(data)
  if (failure || !sig.startsWith('ok')) {
    console.error(`a seed input does not decode: ${failure || sig}`)
    process.exit(1)
  }
  seen.add(sig)
}
const crashes = []
let execs = 0
for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline && crashes.length < 20;) {
  const data = mutate(corpus[rand(corpus.length)], corpus)
  const [sig, failure] = outcome(data)
  execs++
  if (failure) crashes.push([data, failure])
  else if (!seen.has(sig)) { seen.add(sig); corpus.push(data) }
}
console.log(`fuzz_batch.js: seed ${firstSeed}, ${execs} inputs in ${seconds}s, ${corpus.length} in corpus, ${seen.size} outcomes, ${crashes.length} failures`)
if (crashes.length) {
  fs.mkdirSync(path.join(here, 'crashes'), { recursive: true })
  crashes.forEach(([data, failure], i) => {
    fs.writeFileSync(path.join(here, 'crashes', `crash-${firstSeed}-${i}`), data)
    console.error(`  ${failure}`)
  })
  console.error(`failing inputs written to ${path.join(here, 'crashes')}`)
  process.exit(1)
}

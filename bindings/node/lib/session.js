'use strict'
// One native session (a connection handle h), as pg/lib/client.js is one:
// opened on its own (lakelink_connect; closing it ends it on the server) or
// taken from a core pool (lakelink_pool_acquire; closing it gives it back,
// and the core decides whether it serves again; discarding it ends it), cancel,
// begin/commit/rollback, and running one statement at a time with its
// result read batch by batch. A new statement discards an unread result;
// who may use a handle when is the caller's business (lib/pool.js,
// lib/client.js, lib/transaction.js, lib/stream.js). The core pool's own
// calls are here too: open, acquire, stats, close.

const native = require('./native')
const { lib, callAsync, callQuick, callDirect, openPools, check, free, errorFree, takeString, withBytes, cstr, threadpoolSize } = native
const { decodeColumns } = require('./batch')
const { fieldsOf, rowsOf, resultOf } = require('./result')
const { fromFailureJSON } = require('./errors')
const channel = require('./channel')
const fed = require('./fed')

/** Rows per batch for query(): the first batch comes with the statement, in the same call. */
const QUERY_BATCH_ROWS = 10000
const FORMAT = 'columnar'

/** Opens a session of its own for connection string connStr (lakelink_connect): its handle. */
async function open (connStr) {
  const out = [0]
  const err = [null]
  check(await callAsync(lib().connect, connStr, out, err), err)
  return out[0]
}

/** Closes handle h: a session of its own ends, a pool's goes back to its pool (which drops a dead one). */
function close (h) {
  fed.forget(h)
  const err = [null]
  return callQuick(lib().close, h, err).then((rc) => check(rc, err))
}

/**
 * Ends handle h's session on the server instead of giving it back
 * (lakelink_discard): node-postgres's release(err), a session its holder
 * no longer trusts, which the core pool does not hand out again.
 */
function discard (h) {
  fed.forget(h)
  const err = [null]
  return callQuick(lib().discard, h, err).then((rc) => check(rc, err))
}

/**
 * Opens a core pool for connection string connStr (lakelink_pool_open,
 * which logs in once, so that a wrong host, user or credential is
 * reported here): its handle.
 */
async function poolOpen (connStr) {
  const out = [0]
  const err = [null]
  check(await callAsync(lib().pool_open, connStr, out, err), err)
  openPools.add(out[0]) // closed at exit, ending its waits
  return out[0]
}

/**
 * A session of core pool p (for the App user whose access token token is,
 * or the pool's own identity when token is null): its handle. Waits in the
 * core up to the pool's PoolTimeout, on a threadpool thread; quick (a
 * session is known to be free) takes a caller thread when one is idle.
 * (A caller is for short calls: one waiting for a session would send the
 * next statements to the threadpool meanwhile.)
 */
async function poolAcquire (p, token, quick) {
  const out = [0]
  const err = [null]
  const call = quick ? callQuick : callAsync
  check(await call(lib().pool_acquire, p, cstr(token, 'the user token'), out, err), err)
  return out[0]
}

/**
 * Turns to wait in the core for a session, for every pool of the process:
 * an acquire may wait up to PoolTimeout on a threadpool thread, and
 * threads waiting there do nothing else, while the calls that give
 * sessions back (a statement's, lakelink_close) need threads too. So at
 * most half of the threadpool's threads (lib/native.js's threadpoolSize:
 * 32 of 64, 2 of libuv's default 4) wait at once, whichever pools they
 * wait for; the next acquires wait here, in order, for a turn.
 */
class Turns {
  #taken = 0
  #queue = [] // {owner, resolve, reject, signal, onAbort}

  /** The most turns out at once. */
  get limit () {
    return Math.max(1, Math.floor(threadpoolSize() / 2))
  }

  /**
   * A turn for owner (a Pool), for an acquire of key (the pool's own
   * identity, null, or an App user's token digest): true when one is free
   * now, else a promise that resolves with true when one is, with false
   * when owner lets it go without one (skip: a session came free), or
   * rejects with signal's reason when it aborts first. Each turn taken
   * (true) is given back with give().
   */
  take (owner, signal, key) {
    if (this.#queue.length === 0 && this.#taken < this.limit) {
      this.#taken++
      return true
    }
    return new Promise((resolve, reject) => {
      const w = { owner, key, resolve, reject, signal, onAbort: null }
      if (signal) {
        w.onAbort = () => {
          this.#queue.splice(this.#queue.indexOf(w), 1)
          reject(signal.reason)
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.#queue.push(w)
    })
  }

  /**
   * Lets owner's first acquire of key waiting for a turn go without one
   * (it will not wait in the core: a session of its came free), so that a
   * pool whose sessions come back is not held up behind another pool's
   * acquires waiting out their PoolTimeout.
   */
  skip (owner, key) {
    const i = this.#queue.findIndex((w) => w.owner === owner && w.key === key)
    if (i < 0) return
    const [w] = this.#queue.splice(i, 1)
    w.signal?.removeEventListener('abort', w.onAbort)
    w.resolve(false)
  }

  /** Gives a turn back: the first waiting takes it. */
  give () {
    this.#taken--
    while (this.#queue.length && this.#taken < this.limit) {
      const w = this.#queue.shift()
      w.signal?.removeEventListener('abort', w.onAbort)
      this.#taken++
      w.resolve(true)
    }
  }

  /** How many of owner's acquires wait for a turn. */
  waiting (owner) {
    let n = 0
    for (const w of this.#queue) if (w.owner === owner) n++
    return n
  }

  /** Rejects owner's acquires waiting for a turn with error (the pool ended). */
  refuse (owner, error) {
    for (const w of this.#queue.filter((x) => x.owner === owner)) {
      this.#queue.splice(this.#queue.indexOf(w), 1)
      w.signal?.removeEventListener('abort', w.onAbort)
      w.reject(error)
    }
  }
}

/** The process's turns to wait for a session in the core (see Turns). */
const acquireTurns = new Turns()

/**
 * Core pool p's counts, {total, idle, acquired, waiting, max, users,
 * user_sessions}: a short call on the calling thread (the counts are
 * node-postgres's synchronous getters).
 */
function poolStats (p) {
  const out = [null]
  const err = [null]
  check(lib().pool_stats(p, out, err), err)
  return JSON.parse(takeString(out[0]))
}

/** Closes core pool p: its idle sessions now, acquired ones as they come back. */
async function poolClose (p) {
  const err = [null]
  openPools.delete(p)
  check(await callAsync(lib().pool_close, p, err), err)
}

/** Asks the server to cancel the statement running on handle h (lakelink_cancel). */
async function cancel (h) {
  const err = [null]
  check(await callAsync(lib().cancel, h, err), err)
}

/** Runs lakelink_begin, _commit or _rollback (name) on handle h. */
async function command (name, h) {
  const err = [null]
  check(await callDirect(h, lib()[name], h, err), err)
}

const begin = (h) => command('begin', h)
const commit = (h) => command('commit', h)
const rollback = (h) => command('rollback', h)

/**
 * The batches after the first of an open result (of a statement on
 * connection handle h), read one ahead: the next batch is fetched on
 * another thread while the caller decodes this one.
 */
class Batches {
  constructor (h, result, rowsPerBatch) {
    this.h = h
    this.result = result
    this.rowsPerBatch = rowsPerBatch
    this.pending = this.fetch()
  }

  fetch () {
    const batch = [null]
    const len = [0]
    const err = [null]
    return callDirect(this.h, lib().result_next_batch, this.result, this.rowsPerBatch, FORMAT, batch, len, err)
      .then((rc) => { check(rc, err); return batch[0] ? { ptr: batch[0], len: len[0] } : null })
  }

  /** The next batch ({ptr, len}, the caller frees it), or null at the end of the rows. */
  async take () {
    const b = await this.pending
    this.pending = b ? this.fetch() : null
    return b
  }

  /** The command tag and rows affected, once every batch was taken. */
  async status () {
    const tag = [null]
    const affected = [0]
    const err = [null]
    check(await callDirect(this.h, lib().result_status, this.result, tag, affected, err), err)
    return { tag: takeString(tag[0]), affected: affected[0] }
  }

  /** Closes the result (discarding unread rows, off the event loop); errors are thrown only when complete. */
  async close (complete) {
    if (this.pending) await this.pending.then((b) => b && free(b.ptr), () => {})
    const err = [null]
    const rc = await callDirect(this.h, lib().result_close, this.result, err)
    if (complete) check(rc, err)
    else errorFree(err[0]) // the error that got us here is the one to report
  }
}

/**
 * Starts statement st (lib/statement.js) on handle h, in one call that
 * also brings the first batch of rowsPerBatch rows: {fields, decode, rows
 * (the first batch's), rest (a Batches, or null when the result is
 * complete), tag, affected}. opts: the connection's {int8}, and onLoop:
 * the answer is read on the event loop when the library sends it so
 * (lib/fed.js).
 */
async function start (h, st, opts, rowsPerBatch) {
  const outs = { cols: [null], batch: [null], len: [0], tag: [null], affected: [0], result: [0], err: [null] }
  const { cols, batch, len, tag, affected, result, err } = outs
  let rc = opts.onLoop ? await fed.query(h, st, rowsPerBatch, FORMAT, outs) : null
  if (rc === null) {
    const buf = st.params
    rc = await callDirect(h, lib().query, h, st.text, buf, buf ? buf.length : 0, rowsPerBatch, FORMAT, cols, batch, len, tag,
      affected, result, err)
  }
  check(rc, err)
  const fields = fieldsOf(takeString(cols[0]))
  const decodeOpts = { int8: st.int8 ?? opts.int8 }
  const decode = (ab) => rowsOf(decodeColumns(ab, fields, decodeOpts), fields, st.rowMode === 'array')
  const rest = result[0] ? new Batches(h, result[0], rowsPerBatch) : null // starts fetching the second batch
  let rows = []
  try {
    if (batch[0]) rows = withBytes(batch[0], len[0], decode)
  } catch (e) {
    if (rest) await rest.close(false)
    throw e
  }
  return { fields, decode, rows, rest, tag: takeString(tag[0]), affected: affected[0] }
}

/** Runs statement st on handle h to its end: {command, rowCount, rows, fields}. */
async function run (h, st, opts) {
  const s = await start(h, st, opts, QUERY_BATCH_ROWS)
  if (!s.rest) return resultOf(s.rows, s.fields, s.tag, s.affected)
  const all = s.rows
  let complete = false
  try {
    for (let b; (b = await s.rest.take());) {
      const rows = withBytes(b.ptr, b.len, s.decode)
      for (let i = 0; i < rows.length; i++) all.push(rows[i])
    }
    const { tag, affected } = await s.rest.status()
    complete = true
    return resultOf(all, s.fields, tag, affected)
  } finally {
    await s.rest.close(complete)
  }
}

/** A pipeline's statements (lib/statement.js's) in lakelink_pool_pipeline's buffer (TYPES.md, "Pipelines"). */
function pipelineStatements (sts) {
  const texts = sts.map((st) => Buffer.from(st.text))
  let size = 0
  for (let i = 0; i < sts.length; i++) size += 8 + texts[i].length + (sts[i].params ? sts[i].params.length : 0)
  const buf = Buffer.allocUnsafe(size)
  let at = 0
  for (let i = 0; i < sts.length; i++) {
    const p = sts[i].params
    at = buf.writeUInt32LE(texts[i].length, at)
    at += texts[i].copy(buf, at)
    at = buf.writeUInt32LE(p ? p.length : 0, at)
    if (p) {
      buf.set(p, at)
      at += p.length
    }
  }
  return buf
}

/** The fields of the columns JSON of pipelined answers, by that JSON: a result's fields are its own copies. */
const pipelineFields = new Map()
/** The most column lists pipelineFields keeps (it starts anew beyond). */
const PIPELINE_FIELDS = 256

/** The fields of a pipelined answer's columns JSON (cached: the same statements come again and again). */
function fieldsOfPiped (json) {
  let fields = pipelineFields.get(json)
  if (!fields) {
    if (pipelineFields.size >= PIPELINE_FIELDS) pipelineFields.clear()
    fields = fieldsOf(json)
    pipelineFields.set(json, fields)
  }
  return fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID, typeName: f.typeName }))
}

/** The outcomes in a pipeline's answers (ab, an ArrayBuffer), one per statement of sts: {result} or {error}. */
function pipelineOutcomes (ab, sts, opts) {
  const dv = new DataView(ab)
  const buf = Buffer.from(ab) // a view, for its strings
  let at = 0
  const text = () => {
    const n = dv.getUint32(at, true)
    at += 4 + n
    return buf.toString('utf8', at - n, at)
  }
  return sts.map((st) => {
    if (buf[at++] === 1) {
      return { error: fromFailureJSON(text()) }
    }
    const fields = fieldsOfPiped(text())
    const tag = text()
    const affected = dv.getBigInt64(at, true)
    const bases = new Array(dv.getUint32(at + 8, true))
    at += 12
    for (let k = 0; k < bases.length; k++) {
      const n = dv.getUint32(at, true)
      bases[k] = (at + 4 + 7) & ~7 // a batch starts at a multiple of 8
      at = bases[k] + n
    }
    try { // a value this binding cannot give (a date beyond Date's range) fails its statement only, as when run alone
      const decodeOpts = { int8: st.int8 ?? opts.int8 }
      let rows = []
      for (let k = 0; k < bases.length; k++) {
        const decoded = rowsOf(decodeColumns(ab, fields, decodeOpts, bases[k]), fields, st.rowMode === 'array')
        rows = k === 0 ? decoded : rows.concat(decoded)
      }
      return { result: resultOf(rows, fields, tag, affected) }
    } catch (e) {
      return { error: e }
    }
  })
}

/**
 * Runs statements sts (lib/statement.js's, each with parameters and
 * without a signal) in one round trip on a session that core pool p lends
 * for them (lakelink_pool_pipeline), one of its own (token null) or of the
 * App user whose access token token is, each in its own implicit
 * transaction, as if run alone. Resolves with one outcome per statement,
 * in order: {result} (as run() resolves) or {error}; rejects when none
 * ran. Over the pipeline channel (lib/channel.js) it holds no thread while
 * it waits for a session or the server; as a call its round trip is
 * shorter (a socket's wake-ups cost more than a thread's), for quick:
 * nothing else in flight, and a session known to be free. Without a
 * channel (Windows), a call that may wait for a session goes to the
 * threadpool.
 */
async function poolPipeline (p, token, sts, opts, quick) {
  const buf = pipelineStatements(sts)
  if (native.socketsAvailable && !quick) return pipelineOutcomes(await channel.pipeline(p, token, buf, QUERY_BATCH_ROWS, FORMAT), sts, opts)
  const answers = [null]
  const len = [0]
  const err = [null]
  const call = quick ? callQuick : callAsync
  check(await call(lib().pool_pipeline, p, cstr(token, 'the user token'), buf, buf.length, QUERY_BATCH_ROWS, FORMAT, answers, len, err), err)
  return withBytes(answers[0], len[0], (ab) => pipelineOutcomes(ab, sts, opts))
}

/**
 * Names e, a statement's error, an AbortError (its code stays '57014',
 * its cause is signal's reason) when it is the server's answer to the
 * cancel request sent because signal aborted (cancelling is that request,
 * or null when none was sent).
 */
function nameAbort (e, cancelling, signal) {
  if (cancelling && e.code === '57014') {
    e.name = 'AbortError'
    e.cause = signal.reason
  }
}

/**
 * Runs statement st on handle h like run(), and when st.signal aborts
 * meanwhile, asks the server to cancel it: the statement then fails with
 * SQLSTATE 57014, rejected as an AbortError (see nameAbort). A statement
 * that ends before the cancellation reaches it resolves as usual. Resolves
 * or rejects only once the cancel request was answered, so that it cannot
 * reach the session's next statement.
 */
async function runAbortable (h, st, opts) {
  const signal = st.signal
  if (!signal) return run(h, st, opts)
  signal.throwIfAborted()
  let cancelling = null
  const onAbort = () => { cancelling = cancel(h).catch(() => {}) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await run(h, st, opts)
  } catch (e) {
    nameAbort(e, cancelling, signal)
    throw e
  } finally {
    signal.removeEventListener('abort', onAbort)
    if (cancelling) await cancelling
  }
}

module.exports = { open, close, discard, poolOpen, poolAcquire, acquireTurns, poolStats, poolClose, cancel, begin, commit, rollback, start, poolPipeline, runAbortable, nameAbort }

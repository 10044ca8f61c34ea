'use strict'
// Lakebase: connect() and Connection, a pool of native sessions with
// node-postgres's result shape.
//
// One native connection handle (lakelink_connect: a session from the
// core's shared pool for the connection string) runs one statement at a
// time, and a new statement discards an unread result. So a Connection
// behaves like pg's Pool: it holds up to MaxConnections handles, gives each
// query an idle one (opening one when none is idle, waiting when all are
// busy), and transaction() and stream() hold one until they end. Up to
// IDLE_KEEP idle handles are kept for IDLE_MS; the others go back to the
// core's pool, which checks a session's health before handing it out again.

const util = require('node:util')
const { lib, callAsync, callDirect, check, free, errorFree, takeString, withBytes, cstr } = require('./native')
const { decodeColumns } = require('./batch')
const params = require('./params')
const connstr = require('./connstr')
const { InterfaceError } = require('./errors')

/** The core's pool size when MaxConnections is not given (lakebase.OpenPoolSize). */
const DEFAULT_MAX_CONNECTIONS = 50
/** Rows per batch for query(): the first batch comes with the statement, in the same call. */
const QUERY_BATCH_ROWS = 10000
/** Rows per batch for stream(), unless its batchSize option says otherwise. */
const STREAM_BATCH_ROWS = 1000
/**
 * Idle handles kept, and for how long, before they go back to the core's
 * pool, which keeps the sessions (other Connections for the same string
 * draw from it too).
 */
const IDLE_KEEP = 4
const IDLE_MS = 10000
const FORMAT = 'columnar'

/** Whether a handle may run more statements after err: not after a lost session. */
function reusable (err) {
  const s = err && err.sqlstate
  return Boolean(s) && !s.startsWith('08') && !s.startsWith('57P')
}

async function openHandle (connStr) {
  const out = [0]
  const err = [null]
  check(await callAsync(lib().connect, connStr, out, err), err)
  return out[0]
}

function closeHandle (h) {
  const err = [null]
  return callAsync(lib().close, h, err).then((rc) => check(rc, err))
}

/** Asks the server to cancel the statement running on handle h (lakelink_cancel). */
async function cancel (h) {
  const err = [null]
  check(await callAsync(lib().cancel, h, err), err)
}

async function simple (fn, h) {
  const err = [null]
  check(await callDirect(h, fn, h, err), err)
}

/**
 * A statement's arguments, as query() and stream() take them: (text,
 * values) or ({text, values, rowMode}); the values are encoded here, before
 * a session is taken.
 */
function statement (textOrConfig, values, options) {
  const cfg = typeof textOrConfig === 'string' ? { ...options, text: textOrConfig, values } : { ...textOrConfig, ...options }
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

/** The command tag's verb and node-postgres's rowCount (null for a command without a count). */
function commandOf (tag, affected) {
  const m = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/.exec(tag) // node-postgres's parsing
  if (!m) return { command: tag || null, rowCount: null }
  return { command: m[1], rowCount: m[2] === undefined ? null : Number(affected) }
}

/**
 * Starts statement st on handle h, in one call that also brings the first
 * batch: {fields, decode, rows (the first batch's), rest (a Batches, or
 * null when the result is complete), tag, affected}.
 */
async function start (h, st, opts, rowsPerBatch) {
  const L = lib()
  const buf = st.params
  const cols = [null]
  const batch = [null]
  const len = [0]
  const tag = [null]
  const affected = [0]
  const result = [0]
  const err = [null]
  const rc = await callDirect(h, L.query, h, st.text, buf, buf ? buf.length : 0, rowsPerBatch, FORMAT, cols, batch, len, tag,
    affected, result, err)
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
  if (!s.rest) return finish(s.rows, s.fields, s.tag, s.affected)
  const all = s.rows
  let complete = false
  try {
    for (let b; (b = await s.rest.take());) {
      const rows = withBytes(b.ptr, b.len, s.decode)
      for (let i = 0; i < rows.length; i++) all.push(rows[i])
    }
    const { tag, affected } = await s.rest.status()
    complete = true
    return finish(all, s.fields, tag, affected)
  } finally {
    await s.rest.close(complete)
  }
}

/**
 * Runs statement st on handle h like run(), and when st.signal aborts
 * meanwhile, asks the server to cancel it: the statement then fails with
 * SQLSTATE 57014, rejected as an AbortError (the error's name; its code
 * stays '57014', its cause is the signal's reason). A statement that ends
 * before the cancellation reaches it resolves as usual. The handle is
 * given back only once the cancel request was answered, so that it cannot
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
    if (cancelling && e.code === '57014') {
      e.name = 'AbortError'
      e.cause = signal.reason
    }
    throw e
  } finally {
    signal.removeEventListener('abort', onAbort)
    if (cancelling) await cancelling
  }
}

/**
 * The rows of statement st as an async iterator, read a batch of
 * st.batchSize rows at a time: next() resolves at once within a batch (no
 * generator machinery per row). hold() resolves with {handle, release(err)}:
 * the session, held until the rows end, an error, or the loop is left.
 * When st.signal aborts, the statement is cancelled on the server as in
 * runAbortable, and next() rejects: with the server's error named
 * AbortError (code '57014'), or with the signal's reason when the
 * statement was not running.
 */
class RowStream {
  #hold
  #st
  #opts
  #signal
  #held = null
  #started = null
  #rows = []
  #i = 0
  #finished = false
  #refilling = null // the refill under way, which return() lets end first
  #cancelling = null // the cancel request sent when the signal aborted
  #onAbort = () => { this.#cancelling = cancel(this.#held.handle).catch(() => {}) }

  constructor (hold, st, opts) {
    this.#hold = hold
    this.#st = st
    this.#opts = opts
    this.#signal = st.signal
  }

  [Symbol.asyncIterator] () {
    return this
  }

  next () {
    if (this.#i < this.#rows.length && !this.#signal?.aborted) return Promise.resolve({ value: this.#rows[this.#i++], done: false })
    this.#refilling = this.#refill()
    return this.#refilling
  }

  async #refill () {
    try {
      for (;;) {
        if (this.#finished) return { value: undefined, done: true }
        this.#signal?.throwIfAborted()
        if (!this.#started) {
          this.#held = await this.#hold()
          this.#signal?.throwIfAborted()
          this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
          this.#started = await start(this.#held.handle, this.#st, this.#opts, this.#st.batchSize || STREAM_BATCH_ROWS)
          this.#rows = this.#started.rows
        } else {
          const b = this.#started.rest && await this.#started.rest.take()
          if (!b) {
            await this.#finish(true)
            continue
          }
          this.#rows = withBytes(b.ptr, b.len, this.#started.decode)
        }
        this.#i = 0
        if (this.#rows.length) return { value: this.#rows[this.#i++], done: false }
      }
    } catch (e) {
      if (this.#cancelling && e.code === '57014') {
        e.name = 'AbortError'
        e.cause = this.#signal.reason
      }
      await this.#finish(false, e === this.#signal?.reason ? undefined : e) // a session that was not lost stays
      throw e
    }
  }

  /** Closes the result (when open) and lets the session go, once a cancel request was answered. */
  async #finish (complete, err) {
    if (this.#finished) return
    this.#finished = true
    this.#rows = []
    this.#signal?.removeEventListener('abort', this.#onAbort)
    try {
      if (this.#started?.rest) await this.#started.rest.close(complete)
    } finally {
      await this.#cancelling
      this.#held?.release(err)
    }
  }

  async return () {
    await this.#refilling?.catch(() => {})
    await this.#finish(false)
    return { value: undefined, done: true }
  }

  async throw (e) {
    await this.return()
    throw e
  }
}

function finish (rows, fields, tag, affected) {
  const { command, rowCount } = commandOf(tag, affected)
  return { command, rowCount, rows, fields }
}

/**
 * A transaction's view of its session: query() and stream() run there, one
 * at a time, in the order they are called.
 */
class Transaction {
  #session

  constructor (session) {
    this.#session = session
  }

  /** As Connection.query, inside the transaction. */
  query (textOrConfig, values) {
    const session = this.#session
    let st
    try {
      st = statement(textOrConfig, values)
    } catch (e) {
      return Promise.reject(e)
    }
    return session.serial(() => runAbortable(session.handle, st, session.opts))
  }

  /**
   * As Connection.stream, inside the transaction (its other statements
   * wait until the loop ends; one left open is closed when fn settles).
   */
  stream (textOrConfig, values, options) {
    const session = this.#session
    const hold = async () => ({ handle: session.handle, release: await session.lock() })
    const rows = new RowStream(hold, statement(textOrConfig, values, options), session.opts)
    session.streams.push(rows)
    return rows
  }

  [util.inspect.custom] () {
    return 'Transaction {}'
  }
}

/** One held handle and the queue of its statements. */
class Session {
  constructor (handle, opts) {
    this.handle = handle
    this.opts = opts
    this.tail = Promise.resolve()
    this.streams = [] // the transaction's RowStreams
  }

  /** Closes the streams left open (discarding their unread rows) and waits for the statements queued. */
  async end () {
    await Promise.all(this.streams.map((rows) => rows.return()))
    await this.tail
  }

  /** Waits for the statements queued before, then resolves with the function that lets the next one go. */
  lock () {
    let unlock
    const held = new Promise((resolve) => { unlock = resolve })
    const turn = this.tail
    this.tail = turn.then(() => held)
    return turn.then(() => unlock)
  }

  /** Runs fn after the statements queued before it. */
  async serial (fn) {
    const unlock = await this.lock()
    try {
      return await fn()
    } finally {
      unlock()
    }
  }
}

/** A query waiting for a handle: settled once, by a handle, an error or its signal's abort. */
class Waiter {
  #resolve
  #reject
  #done
  #settled = false

  constructor (resolve, reject, done) {
    this.#resolve = resolve
    this.#reject = reject
    this.#done = done
  }

  #settle (fn, value) {
    if (this.#settled) return false
    this.#settled = true
    this.#done()
    fn(value)
    return true
  }

  /** Gives the waiter handle h; false when it no longer waits (the caller keeps h). */
  resolve (h) { return this.#settle(this.#resolve, h) }
  reject (e) { return this.#settle(this.#reject, e) }
}

/**
 * A pool of Lakebase sessions for one connection string: what connect()
 * returns. Every method is safe to call concurrently.
 */
class Connection {
  #connStr
  #shown
  #opts
  #max
  #idle = [] // {handle, timer}
  #total = 0 // handles open or opening
  #returning = 0 // handles being closed
  #waiters = [] // Waiter
  #closed = false
  #drained = null // resolves when the last busy handle is released after close()

  /** @private use connect() */
  constructor (connStr, shown, max, opts, first) {
    this.#connStr = connStr
    this.#shown = shown
    this.#max = max
    this.#opts = opts
    this.#total = 1
    this.#release(first, true)
  }

  /** Handles open, idle, and queries waiting for one (node-postgres's names). */
  get totalCount () { return this.#total }
  get idleCount () { return this.#idle.length }
  get waitingCount () { return this.#waiters.length }

  /** A handle: an idle one, a new one, or the next one released; waiting ends early when signal aborts. */
  async #acquire (signal) {
    if (this.#closed) throw new InterfaceError('lakelink: the connection is closed', { code: 'LAKELINK_CLOSED' })
    signal?.throwIfAborted()
    const idle = this.#idle.pop()
    if (idle) {
      clearTimeout(idle.timer)
      return idle.handle
    }
    if (this.#total < this.#max) return this.#open()
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(w)
        if (i >= 0) this.#waiters.splice(i, 1)
        w.reject(signal.reason)
      }
      const w = new Waiter(resolve, reject, () => signal?.removeEventListener('abort', onAbort))
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(w)
    })
  }

  async #open () {
    this.#total++
    try {
      return await openHandle(this.#connStr)
    } catch (e) {
      this.#total--
      this.#serveWaiter()
      throw e
    }
  }

  /** Opens a handle for the first waiter when there is room (after a handle was dropped). */
  #serveWaiter () {
    if (this.#waiters.length && this.#total < this.#max && !this.#closed) {
      const w = this.#waiters.shift()
      this.#open().then((h) => { if (!w.resolve(h)) this.#release(h, true) }, (e) => w.reject(e)) // aborted meanwhile: the handle goes to the next
    }
  }

  #release (handle, healthy) {
    const w = healthy && !this.#closed && this.#waiters.shift()
    if (w) return w.resolve(handle)
    if (healthy && !this.#closed && this.#idle.length < IDLE_KEEP) {
      const entry = { handle, timer: null }
      entry.timer = setTimeout(() => this.#expire(entry), IDLE_MS).unref()
      this.#idle.push(entry)
      return
    }
    this.#drop(handle)
    this.#serveWaiter()
  }

  /** Returns a handle's session to the core's pool (which drops a dead one). */
  #drop (handle) {
    this.#total--
    this.#returning++
    closeHandle(handle).catch(() => {}).finally(() => {
      this.#returning--
      if (this.#closed && this.#total === 0 && this.#returning === 0) this.#drained.resolve()
    })
  }

  #expire (entry) {
    const i = this.#idle.indexOf(entry)
    if (i < 0) return
    this.#idle.splice(i, 1)
    this.#drop(entry.handle)
  }

  /** Runs fn(handle) on a held handle and releases it after. */
  async #with (fn, signal) {
    const h = await this.#acquire(signal)
    let healthy = true
    try {
      return await fn(h)
    } catch (e) {
      healthy = reusable(e) || (signal !== undefined && e === signal.reason) // aborted before it started: the session is untouched
      throw e
    } finally {
      this.#release(h, healthy)
    }
  }

  /**
   * Runs a statement with $1..$n placeholders: query(text, values) or
   * query({text, values, rowMode: 'array', int8: 'string', signal}).
   * Resolves with {rows, fields: [{name, dataTypeID, typeName}], rowCount,
   * command}. When signal aborts, a query waiting for a session rejects
   * with the signal's reason, and a running one is cancelled on the server
   * and rejects with an AbortError whose code is '57014'.
   */
  query (textOrConfig, values) {
    let st
    try {
      st = statement(textOrConfig, values)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#with((h) => runAbortable(h, st, this.#opts), st.signal)
  }

  /**
   * Runs fn(tx) in a transaction on one session: commits when fn's promise
   * resolves, rolls back and rethrows when it rejects. Resolves with fn's
   * value. A tx.stream() fn left open is closed first, its unread rows
   * discarded.
   */
  transaction (fn) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('lakelink: transaction(fn) needs a function'))
    return this.#with(async (h) => {
      const L = lib()
      await simple(L.begin, h)
      const session = new Session(h, this.#opts)
      let value
      try {
        value = await fn(new Transaction(session))
      } catch (e) {
        await session.end()
        try {
          await simple(L.rollback, h)
        } catch (rollbackError) {
          if (!reusable(rollbackError)) throw rollbackError // the session is lost: say so, release drops it
        }
        throw e
      }
      await session.end()
      await simple(L.commit, h)
      return value
    })
  }

  /**
   * Streams a statement's rows in batches (batchSize rows, default 1000),
   * holding one session until the rows end or the loop is left:
   * `for await (const row of conn.stream(text, values, {batchSize, signal}))`.
   * When signal aborts, waiting for a session ends, and a running
   * statement is cancelled on the server: the loop throws an AbortError
   * (code '57014').
   */
  stream (textOrConfig, values, options) {
    const st = statement(textOrConfig, values, options)
    const hold = async () => {
      const handle = await this.#acquire(st.signal)
      return { handle, release: (err) => this.#release(handle, !err || reusable(err)) }
    }
    return new RowStream(hold, st, this.#opts)
  }

  /**
   * Closes the connection: new queries are refused, waiting ones rejected,
   * and every session returns to the core's pool once its statement ends.
   * Resolves when all are returned.
   */
  close () {
    if (this.#closed) return this.#drained.promise
    this.#closed = true
    this.#drained = resolvers()
    for (const w of this.#waiters.splice(0)) w.reject(new InterfaceError('lakelink: the connection was closed', { code: 'LAKELINK_CLOSED' }))
    for (const entry of this.#idle.splice(0)) {
      clearTimeout(entry.timer)
      this.#release(entry.handle, false)
    }
    if (this.#total === 0 && this.#returning === 0) this.#drained.resolve()
    return this.#drained.promise
  }

  [Symbol.asyncDispose] () {
    return this.close()
  }

  [util.inspect.custom] (depth, options, inspect) {
    const state = { total: this.#total, idle: this.#idle.length, waiting: this.#waiters.length, max: this.#max, closed: this.#closed }
    return `Connection <${this.#shown}> ${inspect(state, options)}`
  }

  toString () {
    return `Connection <${this.#shown}>`
  }
}

function resolvers () {
  let resolve
  let reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/**
 * Connects to Lakebase: connectionString with overrides (property names
 * or aliases, any case; null removes one) applied by the core. The first
 * session opens now, so that a wrong host, user or credential is reported
 * here. options: {int8: 'bigint' | 'string'} for int8 values.
 */
async function connect (connectionString, overrides, options = {}) {
  if (options.int8 !== undefined && options.int8 !== 'bigint' && options.int8 !== 'string') {
    throw new TypeError(`lakelink: int8 ${options.int8}: 'bigint' (the default) or 'string'`)
  }
  const connStr = connstr.build(connectionString, overrides)
  const { normalized, properties } = connstr.normalize(connStr)
  const given = Number(Object.entries(properties).find(([k]) => k.toLowerCase() === 'maxconnections')?.[1])
  const max = given > 0 ? given : DEFAULT_MAX_CONNECTIONS
  const first = await openHandle(connStr)
  return new Connection(connStr, normalized, max, { int8: options.int8 }, first)
}

module.exports = { connect, Connection, Transaction }

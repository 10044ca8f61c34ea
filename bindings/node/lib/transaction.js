'use strict'
// One held session's statements, run one at a time in the order they are
// called: a transaction's (transaction(fn): BEGIN, fn's statements, then
// COMMIT, or ROLLBACK when fn rejects), and a client's (lib/client.js).

const util = require('node:util')
const { begin, commit, rollback, runAbortable } = require('./session')
const { statement } = require('./statement')
const { RowStream } = require('./stream')
const { CopyFromStream, CopyToStream } = require('./copy')
const { InterfaceError } = require('./errors')

/** A held session (its handle and the connection's {int8}) and the queue of its statements. */
class HeldSession {
  /**
   * onLoop: its statements' answers are read on the event loop
   * (lib/fed.js), for a session that serves statement after statement
   * outside a transaction (a client's), which pays for its socket's
   * duplicate; not a transaction's (the library sends nothing so in one).
   */
  constructor (handle, opts, onLoop = false) {
    this.handle = handle
    this.opts = { ...opts, onLoop }
    this.tail = Promise.resolve()
    this.streams = new Set() // RowStreams not ended yet
  }

  /** Closes the streams left open (discarding their unread rows) and waits for the statements queued. */
  async end () {
    await Promise.all([...this.streams].map((rows) => rows.return()))
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

/** Statements' internal methods: [HOLD](session) gives them a session, [LET_GO]() takes it back (null when none). */
const HOLD = Symbol('hold')
const LET_GO = Symbol('letGo')

/**
 * query() and stream() on a held session, one at a time, in the order
 * they are called. Without a session (not yet, or no longer), they reject
 * with unusable()'s error.
 */
class Statements {
  #session
  #unusable

  constructor (session, unusable) {
    this.#session = session
    this.#unusable = unusable
  }

  [HOLD] (session) {
    this.#session = session
  }

  [LET_GO] () {
    const session = this.#session
    this.#session = null
    return session
  }

  /**
   * Runs a statement with $1..$n placeholders, as Pool.query does, after
   * the statements called before it on this session.
   */
  query (textOrConfig, values) {
    const session = this.#session
    let st
    try {
      if (!session) throw this.#unusable()
      st = statement(textOrConfig, values)
    } catch (e) {
      return Promise.reject(e)
    }
    return session.serial(() => runAbortable(session.handle, st, session.opts))
  }

  /**
   * COPY ... FROM STDIN as a Writable, used as pg-copy-streams' copyFrom
   * stream is (write or pipe into it; 'finish', then its rowCount), on
   * this session: its other statements wait until the COPY ends.
   */
  copyFrom (sql) {
    return new CopyFromStream(this.#holder(), sql)
  }

  /**
   * COPY ... TO STDOUT as a Readable of Buffers (whole rows), used as
   * pg-copy-streams' copyTo stream is; its other statements wait until the
   * COPY ends.
   */
  copyTo (sql) {
    return new CopyToStream(this.#holder(), sql)
  }

  /** hold() for a stream of this session: {handle, release()}, the session locked until release. */
  #holder () {
    const session = this.#session
    if (!session) throw this.#unusable()
    return async () => {
      const unlock = await session.lock()
      return { handle: session.handle, release: unlock }
    }
  }

  /**
   * Streams a statement's rows, as Pool.stream does, on this session: its
   * other statements wait until the loop ends. One left open is closed when
   * the session is let go (a transaction's fn settles, a client ends or is
   * released), its unread rows discarded.
   */
  stream (textOrConfig, values, options) {
    const session = this.#session
    if (!session) throw this.#unusable()
    const hold = async () => {
      const unlock = await session.lock()
      return { handle: session.handle, release: () => { session.streams.delete(rows); unlock() } }
    }
    const rows = new RowStream(hold, statement(textOrConfig, values, options), session.opts)
    session.streams.add(rows)
    return rows
  }
}

/** A transaction's view of its session (what transaction(fn) gives fn). */
class Transaction extends Statements {
  constructor (session) {
    super(session, () => new InterfaceError('lakelink: the transaction has ended', { code: 'LAKELINK_CLOSED' }))
  }

  [util.inspect.custom] () {
    return 'Transaction {}'
  }
}

/**
 * Runs fn(tx) in a transaction on handle h: commits when fn's promise
 * resolves, rolls back and rethrows when it rejects; resolves with fn's
 * value. A tx.stream() left open is closed first, its unread rows
 * discarded. A failed rollback is not reported over fn's error: closing
 * the handle then rolls back, or the core drops the session.
 */
async function transact (h, opts, fn) {
  await begin(h)
  const session = new HeldSession(h, opts)
  const tx = new Transaction(session)
  let value
  try {
    value = await fn(tx)
  } catch (e) {
    tx[LET_GO]()
    await session.end()
    await rollback(h).catch(() => {})
    throw e
  }
  tx[LET_GO]()
  await session.end()
  await commit(h)
  return value
}

module.exports = { Statements, Transaction, HeldSession, HOLD, LET_GO, transact }

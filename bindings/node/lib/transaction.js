'use strict'
// transaction(fn): fn's statements on one session between BEGIN and
// COMMIT (or ROLLBACK when fn rejects), run one at a time in the order fn
// calls them.

const util = require('node:util')
const { begin, commit, rollback, runAbortable } = require('./session')
const { statement } = require('./statement')
const { RowStream } = require('./stream')

/** A transaction's held session and the queue of its statements. */
class HeldSession {
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

/**
 * Runs fn(tx) in a transaction on handle h: commits when fn's promise
 * resolves, rolls back and rethrows when it rejects; resolves with fn's
 * value. A tx.stream() left open is closed first, its unread rows
 * discarded. sessionKept(err) says whether the session survives err: a
 * failed rollback that lost it is reported instead of fn's error, so that
 * the handle's holder drops it.
 */
async function transact (h, opts, fn, sessionKept) {
  await begin(h)
  const session = new HeldSession(h, opts)
  let value
  try {
    value = await fn(new Transaction(session))
  } catch (e) {
    await session.end()
    try {
      await rollback(h)
    } catch (rollbackError) {
      if (!sessionKept(rollbackError)) throw rollbackError
    }
    throw e
  }
  await session.end()
  await commit(h)
  return value
}

module.exports = { Transaction, transact }

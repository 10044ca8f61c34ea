'use strict'
// Lakebase: connect() and Connection, node-postgres's Pool interface over
// the binding's parts: a statement's arguments (lib/statement.js) run on a
// native session (lib/session.js) from the pool (lib/pool.js), whole
// (query), as rows streamed (lib/stream.js) or in a transaction
// (lib/transaction.js), with node-postgres's result shape (lib/result.js).

const util = require('node:util')
const session = require('./session')
const connstr = require('./connstr')
const { statement } = require('./statement')
const { RowStream } = require('./stream')
const { Transaction, transact } = require('./transaction')
const { Pool, reusable, maxConnections } = require('./pool')

/**
 * A pool of Lakebase sessions for one connection string: what connect()
 * returns. Every method is safe to call concurrently.
 */
class Connection {
  #shown
  #opts
  #pool

  /** @private use connect() */
  constructor (connStr, shown, max, opts, first) {
    this.#shown = shown
    this.#opts = opts
    this.#pool = new Pool(connStr, max, first)
  }

  /** Handles open, idle, and queries waiting for one (node-postgres's names). */
  get totalCount () { return this.#pool.totalCount }
  get idleCount () { return this.#pool.idleCount }
  get waitingCount () { return this.#pool.waitingCount }

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
    return this.#pool.use((h) => session.runAbortable(h, st, this.#opts), st.signal)
  }

  /**
   * Runs fn(tx) in a transaction on one session: commits when fn's promise
   * resolves, rolls back and rethrows when it rejects. Resolves with fn's
   * value. A tx.stream() fn left open is closed first, its unread rows
   * discarded.
   */
  transaction (fn) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('lakelink: transaction(fn) needs a function'))
    return this.#pool.use((h) => transact(h, this.#opts, fn, reusable))
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
    const pool = this.#pool
    const hold = async () => {
      const handle = await pool.acquire(st.signal)
      return { handle, release: (err) => pool.release(handle, err) }
    }
    return new RowStream(hold, st, this.#opts)
  }

  /**
   * Closes the connection: new queries are refused, waiting ones rejected,
   * and every session returns to the core's pool once its statement ends.
   * Resolves when all are returned.
   */
  close () {
    return this.#pool.close()
  }

  [Symbol.asyncDispose] () {
    return this.close()
  }

  [util.inspect.custom] (depth, options, inspect) {
    return `Connection <${this.#shown}> ${inspect(this.#pool.state, options)}`
  }

  toString () {
    return `Connection <${this.#shown}>`
  }
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
  const max = maxConnections(properties)
  const first = await session.open(connStr)
  return new Connection(connStr, normalized, max, { int8: options.int8 }, first)
}

module.exports = { connect, Connection, Transaction }

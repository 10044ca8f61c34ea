'use strict'
// Clients, node-postgres's: one session's statements, run one at a time in
// the order they are called (lib/transaction.js's Statements). Client is a
// session of its own (lakelink_connect: connect() opens it, end() ends it
// on the server); PoolClient is a pool's session, given back by release().

const util = require('node:util')
const session = require('./session')
const connstr = require('./connstr')
const { Statements, HeldSession, HOLD, LET_GO } = require('./transaction')
const { InterfaceError } = require('./errors')

const closed = (message) => new InterfaceError(`lakelink: ${message}`, { code: 'LAKELINK_CLOSED' })

/**
 * A Client's or a Pool's arguments: (connectionString, options) or
 * ({connectionString, ...options}). Returns {connectionString, int8, rest}
 * (rest: the other options, for the caller to check).
 */
function splitArgs (connectionString, options) {
  if (connectionString !== null && typeof connectionString === 'object' && options === undefined) {
    ({ connectionString, ...options } = connectionString)
  }
  options ??= {}
  if (typeof options !== 'object') throw new TypeError(`lakelink: options must be an object, not ${typeof options}`)
  const { int8, ...rest } = options
  if (int8 !== undefined && int8 !== 'bigint' && int8 !== 'string') {
    throw new TypeError(`lakelink: int8 ${util.inspect(int8)}: 'bigint' (the default) or 'string'`)
  }
  return { connectionString: connectionString ?? '', int8, rest }
}

/**
 * One Lakebase session of its own, as node-postgres's Client:
 * `const c = new Client(connectionString); await c.connect(); await
 * c.query(...); await c.end()`. connect() opens the session (lakelink_connect:
 * no pool), end() ends it on the server. Statements run one at a time, in
 * the order they are called.
 */
class Client extends Statements {
  #connStr
  #shown
  #int8
  #state = 'new' // 'connecting', 'connected', 'ended'
  #connecting = null
  #ending = null

  /**
   * connectionString: a connection string, or {connectionString, int8};
   * options: {int8: 'bigint' | 'string'} for int8 values.
   */
  constructor (connectionString, options) {
    super(null, () => closed(this.#state === 'ended' ? 'the client has ended' : 'the client is not connected: call connect() first'))
    const args = splitArgs(connectionString, options)
    const unknown = Object.keys(args.rest)
    if (unknown.length) throw new TypeError(`lakelink: Client has no option ${unknown.join(', ')}: give connection properties in the connection string`)
    this.#connStr = connstr.build(args.connectionString)
    this.#shown = connstr.normalize(this.#connStr).normalized
    this.#int8 = args.int8
  }

  /** Opens the session (logging in); a Client connects once. */
  connect () {
    if (this.#state !== 'new') return Promise.reject(new InterfaceError('lakelink: connect() was called already: a Client connects once'))
    this.#state = 'connecting'
    this.#connecting = session.open(this.#connStr).then((h) => {
      this.#state = 'connected'
      this[HOLD](new HeldSession(h, { int8: this.#int8 }, true))
    }, (e) => {
      this.#state = 'ended'
      throw e
    })
    return this.#connecting
  }

  /**
   * Ends the session on the server, once the statements called before
   * have run (a stream left open is closed, its unread rows discarded).
   * Statements called after it reject.
   */
  end () {
    this.#ending ??= (async () => {
      await this.#connecting?.catch(() => {})
      this.#state = 'ended'
      const held = this[LET_GO]()
      if (!held) return
      await held.end()
      await session.close(held.handle)
    })()
    return this.#ending
  }

  [Symbol.asyncDispose] () {
    return this.end()
  }

  [util.inspect.custom] () {
    return `Client <${this.#shown}> ${this.#state}`
  }

  toString () {
    return `Client <${this.#shown}>`
  }
}

/**
 * A pool's session, as node-postgres's PoolClient (what pool.connect()
 * resolves with): query() and stream() on it, one at a time, until
 * release().
 */
class PoolClient extends Statements {
  #giveBack

  /** @private pool.connect() makes them: giveBack(handle, err) returns the session (err: release's argument). */
  constructor (held, giveBack) {
    super(held, () => closed('the client was released to its pool'))
    this.#giveBack = giveBack
  }

  /**
   * Gives the session back to the pool once the statements called before
   * have run. release(err) or release(true) closes it instead, as in
   * node-postgres: the pool does not hand it out again. Otherwise the core
   * decides whether it serves again. A client is released once.
   */
  release (err) {
    const held = this[LET_GO]()
    if (!held) throw new InterfaceError('lakelink: release() was called already: the client is back in its pool')
    held.end().catch(() => {}).then(() => this.#giveBack(held.handle, err))
  }

  [util.inspect.custom] () {
    return 'PoolClient {}'
  }
}

module.exports = { Client, PoolClient, splitArgs }

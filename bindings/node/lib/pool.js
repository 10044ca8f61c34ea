'use strict'
// Pool: node-postgres's Pool over a core pool (lakelink_pool_open,
// _acquire, _stats, _close in lakelink.h). The core owns the sessions: how
// many (MaxConnections, MinConnections), when one opens, whether one
// serves again after an error, idle expiry and recycling (MaxIdleTime,
// MaxLifetime), and the App users' sessions (asUser: MaxUsers,
// MaxUserConnections, UserIdleTime). node-postgres's options are those
// connection-string properties, merged by the core.
//
// What the binding keeps is for the event loop only. An acquire waits in
// the core, up to PoolTimeout, on a libuv threadpool thread; threads
// waiting there do nothing else, and the calls that would give a session
// back (a statement's, lakelink_close) need threads too. So a Pool lets at
// most ACQUIRE_CALLS acquires wait in the core at once; the next ones wait
// here, in order, until one returns.

const util = require('node:util')
const session = require('./session')
const connstr = require('./connstr')
const { statement } = require('./statement')
const { RowStream } = require('./stream')
const { HeldSession, transact } = require('./transaction')
const { PoolClient, splitArgs } = require('./client')
const { tokenOf } = require('./usertoken')
const { InterfaceError } = require('./errors')

/** The most acquires of one Pool waiting in the core (on threadpool threads) at once. */
const ACQUIRE_CALLS = 16

/**
 * node-postgres's pool options: the connection-string property each sets,
 * the smallest value taken, and the property's text for a value.
 * node-postgres's 0 for "no limit" is not taken for the times: Lakebase
 * ends sessions idle for 24 h and those older than 3 days, so every
 * session has bounds (the core's defaults: README, "Pools").
 */
const POOL_OPTIONS = {
  max: { property: 'MaxConnections', min: 1, unit: 'sessions', text: String },
  min: { property: 'MinConnections', min: 0, unit: 'sessions', text: String },
  idleTimeoutMillis: { property: 'MaxIdleTime', min: 1, unit: 'milliseconds', text: (n) => `${n}ms` },
  maxLifetimeSeconds: { property: 'MaxLifetime', min: 1, unit: 'seconds', text: String },
  connectionTimeoutMillis: { property: 'PoolTimeout', min: 1, unit: 'milliseconds', text: (n) => `${n}ms` },
  maxUsers: { property: 'MaxUsers', min: 1, unit: 'users', text: String }
}

/** The connection-string properties for pool options ({max, min, ...}), each checked. */
function poolProperties (options) {
  const properties = {}
  for (const [name, value] of Object.entries(options)) {
    const o = POOL_OPTIONS[name]
    if (!o) {
      throw new TypeError(`lakelink: Pool has no option ${name} (it takes ${Object.keys(POOL_OPTIONS).join(', ')} and int8; ` +
        'give other connection properties in the connection string)')
    }
    if (value === undefined) continue
    if (typeof value !== 'number') throw new TypeError(`lakelink: Pool option ${name} must be a number of ${o.unit}, not ${typeof value}`)
    if (!Number.isSafeInteger(value) || value < o.min) {
      throw new RangeError(`lakelink: Pool option ${name} ${value}: a whole number of ${o.unit}, at least ${o.min}`)
    }
    properties[o.property] = o.text(value)
  }
  return properties
}

const closedError = () => new InterfaceError('lakelink: the pool is closed (end() was called)', { code: 'LAKELINK_CLOSED' })

/** The counts of a pool not open (or no longer). */
const NO_SESSIONS = { total: 0, idle: 0, acquired: 0, waiting: 0 }

// The Pool's internal methods, which its UserPools call.
const ACQUIRE = Symbol('acquire')
const GIVE_BACK = Symbol('giveBack')
const OPENED = Symbol('opened')

/**
 * Sessions of a Pool, for the pool's own identity (token null) or for an
 * App user (token, the user's access token): what pool.asUser returns,
 * and what the Pool's own query, transaction, stream and connect use.
 */
class UserPool {
  #pool
  #token
  #opts

  /** @private pool.asUser(tokenOrRequest) */
  constructor (pool, token, opts) {
    this.#pool = pool
    this.#token = token
    this.#opts = opts
  }

  /** Runs fn(handle) on a session, given back before it settles (so that the pool's counts show it back, as in node-postgres). */
  async #use (signal, fn) {
    const h = await this.#pool[ACQUIRE](this.#token, signal)
    try {
      return await fn(h)
    } finally {
      await this.#pool[GIVE_BACK](h, false)
    }
  }

  /** As Pool.query, on a session of this user's. */
  query (textOrConfig, values) {
    let st
    try {
      st = statement(textOrConfig, values)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#use(st.signal, (h) => session.runAbortable(h, st, this.#opts))
  }

  /** As Pool.transaction, on a session of this user's. */
  transaction (fn) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('lakelink: transaction(fn) needs a function'))
    return this.#use(undefined, (h) => transact(h, this.#opts, fn))
  }

  /** As Pool.stream, on a session of this user's. */
  stream (textOrConfig, values, options) {
    const st = statement(textOrConfig, values, options)
    const hold = async () => {
      const handle = await this.#pool[ACQUIRE](this.#token, st.signal)
      return { handle, release: () => this.#pool[GIVE_BACK](handle, false) }
    }
    return new RowStream(hold, st, this.#opts)
  }

  /** As Pool.connect, a session of this user's: a PoolClient, to release(). */
  async connect () {
    const h = await this.#pool[ACQUIRE](this.#token)
    return new PoolClient(new HeldSession(h, this.#opts), (handle, destroy) => this.#pool[GIVE_BACK](handle, destroy))
  }

  [util.inspect.custom] () {
    return 'UserPool {}' // never the token
  }
}

/**
 * A pool of Lakebase sessions, as node-postgres's Pool:
 *
 *   const pool = new Pool(connectionString, {max: 10})
 *   const { rows } = await pool.query('SELECT ...', [values])
 *
 * The core keeps the sessions (lakelink_pool_open). Every method is safe
 * to call concurrently.
 */
class Pool {
  #connStr
  #shown
  #opts // {int8}
  #own // the UserPool of the pool's own identity
  #opening = null // the core pool's handle, once opening began (null again after a failure, to try anew)
  #handle = null // the core pool's handle while open
  #calls = 0 // acquires waiting in the core
  #queue = [] // acquires waiting for one of the ACQUIRE_CALLS: {resolve, reject, signal, onAbort}
  #held = 0 // sessions taken from the core and not given back yet
  #abandoned = 0 // acquires still waiting in the core for a query that stopped waiting (its signal aborted)
  #ended = false // end() was called
  #ending = null // end()'s promise
  #drained = null // resolves when nothing is held or acquiring after end()

  /**
   * connectionString: a connection string, or {connectionString,
   * ...options}. options: node-postgres's max, min, idleTimeoutMillis,
   * maxLifetimeSeconds, connectionTimeoutMillis (how long a query waits
   * for a session), lakelink's maxUsers (App users whose sessions are
   * kept, asUser), each setting its connection-string property over the
   * string's own (POOL_OPTIONS); int8: 'bigint' | 'string'. The core pool
   * opens, logging in once, as the constructor returns: a failure to log in
   * is the first query's error (and the next query tries again).
   */
  constructor (connectionString, options) {
    const args = splitArgs(connectionString, options)
    this.#connStr = connstr.build(args.connectionString, poolProperties(args.rest))
    this.#shown = connstr.normalize(this.#connStr).normalized
    this.#opts = { int8: args.int8 }
    this.#own = new UserPool(this, null, this.#opts)
    this.#open().catch(() => {}) // reported to the first query
  }

  #open () {
    this.#opening ??= session.poolOpen(this.#connStr).then((h) => {
      if (this.#ended) {
        session.poolClose(h).catch(() => {})
        throw closedError()
      }
      this.#handle = h
      return h
    }, (e) => {
      this.#opening = null
      throw e
    })
    return this.#opening
  }

  /** Resolves once the core pool is open (connect()'s wait). */
  [OPENED] () {
    return this.#open()
  }

  /** The core's counts for this pool. */
  #stats () {
    return this.#handle ? session.poolStats(this.#handle) : NO_SESSIONS
  }

  /** Sessions open (idle or in use) for the pool's own identity, as node-postgres counts them. */
  get totalCount () { return this.#stats().total }
  /** Sessions open and idle. */
  get idleCount () { return this.#stats().idle }
  /** Queries and connect() calls waiting for a session (here, and in the core). */
  get waitingCount () { return this.#queue.length + Math.max(0, this.#stats().waiting - this.#abandoned) }

  /**
   * A session's handle: waits here for one of the ACQUIRE_CALLS, then in
   * the core. When signal aborts meanwhile, rejects with its reason at
   * once; a session that comes later goes back to the pool.
   */
  async [ACQUIRE] (token, signal) {
    if (this.#ended) throw closedError()
    signal?.throwIfAborted()
    const pool = await this.#open()
    await this.#turn(signal)
    let abandoned = false // the caller stopped waiting (signal aborted) while the core looked for a session
    let settled = false
    const got = session.poolAcquire(pool, token).then((h) => {
      settled = true
      this.#held++
      if (abandoned || this.#ended) {
        this[GIVE_BACK](h, false)
        throw abandoned ? signal.reason : closedError()
      }
      return h
    }, (e) => {
      settled = true
      throw e
    }).finally(() => {
      if (abandoned) this.#abandoned--
      this.#calls--
      this.#next()
      this.#checkDrained()
    })
    if (!signal) return got
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (settled) return
        abandoned = true
        this.#abandoned++
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      got.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** Resolves when this acquire may call the core: at once, or when one of the ACQUIRE_CALLS returns. */
  #turn (signal) {
    if (this.#calls < ACQUIRE_CALLS) {
      this.#calls++
      return undefined
    }
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, signal, onAbort: null }
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

  #next () {
    while (this.#queue.length && this.#calls < ACQUIRE_CALLS) {
      const w = this.#queue.shift()
      w.signal?.removeEventListener('abort', w.onAbort)
      this.#calls++
      w.resolve()
    }
  }

  /**
   * Gives a session back to the core pool, which decides whether it
   * serves again (destroy: ends it on the server instead). Resolves when
   * it is back; never rejects: a session that cannot be given back is the
   * core's to drop.
   */
  [GIVE_BACK] (h, destroy) {
    const done = destroy ? session.discard(h) : session.close(h)
    return done.catch(() => {}).finally(() => {
      this.#held--
      this.#checkDrained()
    })
  }

  #checkDrained () {
    if (this.#ended && this.#held === 0 && this.#calls === 0) this.#drained()
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
    return this.#own.query(textOrConfig, values)
  }

  /**
   * Runs fn(tx) in a transaction on one session: commits when fn's promise
   * resolves, rolls back and rethrows when it rejects. Resolves with fn's
   * value. A tx.stream() fn left open is closed first, its unread rows
   * discarded.
   */
  transaction (fn) {
    return this.#own.transaction(fn)
  }

  /**
   * Streams a statement's rows in batches (batchSize rows, default 1000),
   * holding one session until the rows end or the loop is left:
   * `for await (const row of pool.stream(text, values, {batchSize, signal}))`.
   * When signal aborts, waiting for a session ends, and a running
   * statement is cancelled on the server: the loop throws an AbortError
   * (code '57014').
   */
  stream (textOrConfig, values, options) {
    return this.#own.stream(textOrConfig, values, options)
  }

  /** A session for statements that belong together: a PoolClient, to release() when done. */
  connect () {
    return this.#own.connect()
  }

  /**
   * The sessions of the App user whose access token tokenOrRequest is, or
   * carries (a request: see userToken): {query, transaction, stream,
   * connect}, logged in as that user, so that grants and row-level
   * security apply. No I/O here: the core checks the token at the first
   * query and keeps each user's sessions apart (MaxUsers users,
   * MaxUserConnections sessions each). A token or request without one
   * throws an AuthError.
   */
  asUser (tokenOrRequest) {
    return new UserPool(this, tokenOf(tokenOrRequest), this.#opts)
  }

  /**
   * Ends the pool: new queries are refused, those waiting here rejected,
   * and it resolves once every session taken is given back (clients
   * released, statements ended) and the core pool is closed.
   */
  end () {
    this.#ended = true
    this.#ending ??= (async () => {
      const drained = new Promise((resolve) => { this.#drained = resolve })
      for (const w of this.#queue.splice(0)) {
        w.signal?.removeEventListener('abort', w.onAbort)
        w.reject(closedError())
      }
      this.#checkDrained()
      await drained
      const h = await this.#opening?.catch(() => null)
      this.#handle = null
      if (h) await session.poolClose(h)
    })()
    return this.#ending
  }

  /** end(), as the Connection that connect() returned was closed. */
  close () {
    return this.end()
  }

  [Symbol.asyncDispose] () {
    return this.end()
  }

  [util.inspect.custom] (depth, options, inspect) {
    const { total, idle, acquired, waiting } = this.#stats()
    return `Pool <${this.#shown}> ${inspect({ total, idle, acquired, waiting: waiting + this.#queue.length, ended: this.#ended }, options)}`
  }

  toString () {
    return `Pool <${this.#shown}>`
  }
}

/**
 * A Pool whose core pool is open: the connection string with overrides
 * (property names or aliases, any case; null removes one) applied by the
 * core, and options {int8}. It logs in now, so that a wrong host, user or
 * credential is reported here. (Before Pool, connect() resolved with a
 * Connection, a pool of the binding's own: Connection is now Pool.)
 */
async function connect (connectionString, overrides, options = {}) {
  const pool = new Pool(connstr.build(connectionString, overrides), options)
  await pool[OPENED]()
  return pool
}

module.exports = { Pool, connect }

'use strict'
// Pool: node-postgres's Pool over a core pool (lakelink_pool_open,
// _acquire, _stats, _close in lakelink.h). The core owns the sessions: how
// many (MaxConnections, MinConnections), when one opens, whether one
// serves again after an error, idle expiry and recycling (MaxIdleTime,
// MaxLifetime), and the App users' sessions (asUser: MaxUsers,
// MaxUserConnections, UserIdleTime). node-postgres's options are those
// connection-string properties, merged by the core.
//
// What the binding keeps is for the event loop only. An acquire that may
// wait for a session waits in the core, up to PoolTimeout, on a libuv
// threadpool thread, and only as many at once, for every pool of the
// process, as lib/session.js's Turns allow (half the threadpool), so that
// the calls giving sessions back always find a thread. An acquire that
// will not wait long takes a caller thread when one is idle
// (lib/caller.js; a query then costs a threadpool hop less): one of the
// pool's own identity while it holds fewer than its max sessions, and one
// of an App user whose token this pool took a session for in the last
// USER_TRUST_MS (so the core knows whose it is without asking the
// workspace) while no other session of that token is held or coming.
//
// A parameterized pool.query without a signal takes no session here: the
// core lends one for it (lakelink_pool_pipeline, over the pipeline
// channel): for the pool's own identity in pipelines with the others
// waiting (lib/queue.js), for an App user one statement to a pipeline (the
// user's own sessions, MaxUserConnections, bound them in the core). One
// call or request per statement, instead of an acquire, a statement and a
// close.
//
// Any other statement that finds every session of the pool's own identity
// held waits here, not in the core: the session of a parameterized
// pool.query (one with a signal) that succeeded goes straight to the first
// statement waiting (no lakelink_close, no lakelink_pool_acquire: one
// library call per query instead of three), at most HAND_OVERS times in a
// row, after which it goes back to the core, which decides whether it
// serves again (MaxLifetime).
// Anything else given back (an error, a client, a transaction, a stream,
// a statement without parameters, which may have been BEGIN) goes back to
// the core, and the first waiting then takes a session there. When no
// session came back for STALL_MS, those waiting here wait in the core
// instead, where PoolTimeout applies.
const { EventEmitter } = require('node:events')
const crypto = require('node:crypto')
const util = require('node:util')
const native = require('./native')
const session = require('./session')
const connstr = require('./connstr')
const { statement } = require('./statement')
const { RowStream } = require('./stream')
const { HeldSession, transact } = require('./transaction')
const { PoolClient, splitArgs } = require('./client')
const { tokenOf } = require('./usertoken')
const { StatementQueue } = require('./queue')
const { InterfaceError } = require('./errors')

/**
 * How long after an App user's acquire succeeded the next one with the
 * same token is taken to be quick: well within the core's verification of
 * a token (kept until its expiry, 5 minutes when it has none).
 */
const USER_TRUST_MS = 60 * 1000
/** The most App users' token digests a Pool keeps for that (the oldest go first). */
const MAX_TRUSTED_USERS = 1000

/** How many times in a row a session goes from one pool.query to the next without the core. */
const HAND_OVERS = 100
/** How long statements wait here for a session before they wait in the core (where PoolTimeout applies). */
const STALL_MS = 100

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
const CLIENT = Symbol('client')
const OPENED = Symbol('opened')
const LENT = Symbol('lent')

/** A user token's SHA-256, what a Pool keeps of it (never the token). */
const digestOf = (token) => crypto.createHash('sha256').update(token).digest('base64')

/**
 * Sessions of a Pool, for the pool's own identity (token null) or for an
 * App user (token, the user's access token): what pool.asUser returns,
 * and what the Pool's own query, transaction, stream and connect use.
 */
class UserPool {
  #pool
  #token
  #digest = null // the token's digestOf, once a call needed it (hashed once, not at every query)
  #opts

  /** @private pool.asUser(tokenOrRequest) */
  constructor (pool, token, opts) {
    this.#pool = pool
    this.#token = token
    this.#opts = opts
  }

  /** The token's digestOf (null for the pool's own identity), hashed once. */
  #tokenDigest () {
    if (this.#token !== null) this.#digest ??= digestOf(this.#token)
    return this.#digest
  }

  /** A session's handle from the pool (see Pool[ACQUIRE]). */
  #acquire (signal) {
    return this.#pool[ACQUIRE](this.#token, this.#tokenDigest(), signal)
  }

  /**
   * Runs fn(handle) on a session, given back before it settles (so that
   * the pool's counts show it back, as in node-postgres); clean: fn
   * leaves the session as it found it when it resolves (see HAND_OVERS).
   */
  async #use (signal, fn, clean) {
    const h = await this.#acquire(signal)
    let resolved = false
    try {
      const value = await fn(h)
      resolved = true
      return value
    } finally {
      await this.#pool[GIVE_BACK](h, false, clean && resolved)
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
    // With parameters, one statement (the extended protocol), which cannot leave a transaction open.
    const clean = st.params !== null
    if (clean && !st.signal) return this.#pool[LENT](this.#token, this.#tokenDigest(), st)
    return this.#use(st.signal, (h) => session.runAbortable(h, st, this.#opts), clean)
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
      const handle = await this.#acquire(st.signal)
      return { handle, release: () => this.#pool[GIVE_BACK](handle, false) }
    }
    return new RowStream(hold, st, this.#opts)
  }

  /** As Pool.connect, a session of this user's: a PoolClient, to release(). */
  async connect () {
    return this.#pool[CLIENT](await this.#acquire(undefined), this.#opts)
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
 * to call concurrently. Like node-postgres's, a Pool is an EventEmitter;
 * it emits what the binding sees: 'acquire' (client) when connect()
 * hands out a client, 'release' (err, client) when that client is given
 * back, and 'remove' (client) when release(err) ends its session. The
 * sessions that query, transaction and stream use are not shown as
 * clients, so they emit nothing; nor does the core's own work (opening a
 * session: node-postgres's 'connect'; closing idle or old ones). No error
 * happens outside a call, so 'error' is never emitted: a session that
 * fails while idle is the core's to drop, and the next query gets another.
 */
class Pool extends EventEmitter {
  #connStr
  #shown
  #opts // {int8}
  #own // the UserPool of the pool's own identity
  #opening = null // the core pool's handle, once opening began (null again after a failure, to try anew)
  #handle = null // the core pool's handle while open
  #acquiring = 0 // acquires begun (waiting for the pool to open, for a turn, or in the core) and not settled
  // LENT's, of the pool's own identity: a pipeline alone in flight, when a session is free, is quick (see #lend)
  #queue = new StatementQueue((sts) => this.#lend(null, null, sts, this.#queue.inFlight === 0 && this.#quick(null)),
    () => this.#max, () => this.#cameFree(null))
  #queued = 0 // LENT's statements not settled
  #held = 0 // sessions taken from the core and not given back yet
  #max = 0 // the core pool's MaxConnections, once open
  #ownHeld = new Set() // the handles of the sessions of the pool's own identity held
  #ownAcquiring = 0 // acquires of the pool's own identity in the core
  #ownWaitingInCore = 0 // those of them that may wait there (not quick)
  #users = new Map() // App users' token digests -> {digest, until, busy (sessions held or coming)}, oldest first
  #userOf = new Map() // the handles of App users' sessions held -> their token's entry in #users
  #waiting = [] // own-identity acquires waiting here for a session: {resolve, reject, signal, onAbort}
  #handedOver = new Map() // own sessions' handles -> times handed over in a row
  #lastBack = 0 // performance.now() when a session of the pool's own identity last came back
  #stallTimer = null // while #waiting is not empty: moves them to the core when no session comes back
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
   * string's own (POOL_OPTIONS); int8: 'bigint' | 'string'. As
   * node-postgres's, the pool connects at its first use (query, connect,
   * ...), not here: a failure to log in is that call's error (and the next
   * call tries again).
   */
  constructor (connectionString, options) {
    super()
    const args = splitArgs(connectionString, options)
    this.#connStr = connstr.build(args.connectionString, poolProperties(args.rest))
    this.#shown = connstr.normalize(this.#connStr).normalized
    this.#opts = { int8: args.int8 }
    this.#own = new UserPool(this, null, this.#opts)
  }

  #open () {
    this.#opening ??= session.poolOpen(this.#connStr).then((h) => {
      if (this.#ended) {
        session.poolClose(h).catch(() => {})
        throw closedError()
      }
      this.#handle = h
      this.#max = session.poolStats(h).max
      return h
    }, (e) => {
      this.#opening = null
      throw e
    })
    return this.#opening
  }

  /**
   * Runs statement st (with parameters, without a signal) on a session the
   * core lends: for the pool's own identity (token and digest null) in the
   * #queue's pipelines; for the App user whose token is (digest, its
   * digestOf) in a pipeline of its own, counted as a session of the user's
   * in use (#quick). Resolves as pool.query does. Counted from here, so
   * that end() waits for it.
   */
  async [LENT] (token, digest, st) {
    if (this.#ended) throw closedError()
    this.#queued++
    let user = null // the App user's entry in #users, its busy count raised
    try {
      await this.#open()
      if (this.#ended) throw closedError()
      let outcome
      if (token === null) {
        outcome = await this.#queue.push(st)
      } else {
        user = this.#userEntry(digest)
        const quick = this.#quick(user)
        user.busy++
        ;[outcome] = await this.#lend(token, digest, [st], quick)
        user.until = performance.now() + USER_TRUST_MS // the core took a session for the token: it knows whose it is
      }
      if (outcome.error) throw outcome.error
      return outcome.result
    } finally {
      this.#queued--
      if (user) {
        user.busy--
        this.#forget(user)
        this.#cameFree(user)
      } else {
        this.#checkDrained() // the queue tells #cameFree when a pipeline's place is free
      }
    }
  }

  /**
   * Runs statements sts in a pipeline on a session the core lends, of the
   * pool's own identity (token and digest null) or of an App user's
   * (session.poolPipeline): quick, nothing else of the identity in flight
   * and a session free, as a call. Without a pipeline channel (Windows)
   * one that may wait for a session is a call that holds a threadpool
   * thread meanwhile, so it first takes a turn, as acquires do.
   */
  async #lend (token, digest, sts, quick) {
    let turn = false
    if (!quick && !native.socketsAvailable) {
      turn = await session.acquireTurns.take(this, undefined, digest)
      quick = !turn // let go without a turn: a session came free
    }
    try {
      return await session.poolPipeline(this.#handle, token, sts, this.#opts, quick)
    } finally {
      if (turn) session.acquireTurns.give()
    }
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
  get waitingCount () { return this.#waiting.length + this.#queue.waiting + session.acquireTurns.waiting(this) + Math.max(0, this.#stats().waiting - this.#abandoned) }

  /**
   * The entry in #users of an App user's token digest (a new one when
   * none), made the newest; expired ones not busy go, and the oldest
   * beyond MAX_TRUSTED_USERS.
   */
  #userEntry (digest) {
    let u = this.#users.get(digest)
    if (u) {
      this.#users.delete(digest) // to the end: the newest
    } else {
      u = { digest, until: 0, busy: 0 }
    }
    this.#users.set(digest, u)
    const now = performance.now()
    for (const [d, old] of this.#users) {
      if (this.#users.size <= MAX_TRUSTED_USERS && (old.until > now || old.busy > 0)) break
      if (old !== u) this.#users.delete(d)
    }
    return u
  }

  /** Drops user's entry when no acquire with its token succeeded and none is under way (a bad token leaves nothing). */
  #forget (user) {
    if (user && user.busy === 0 && user.until === 0 && this.#users.get(user.digest) === user) this.#users.delete(user.digest)
  }

  /**
   * A session's handle, for the pool's own identity (token and digest
   * null) or an App user's (token, and its digestOf): waits for the pool to open, for a turn to wait in
   * the core (session.acquireTurns), then in the core. Counted from here,
   * so that end() waits for it; one that finds the pool ended after a wait
   * rejects (LAKELINK_CLOSED). When signal aborts meanwhile, rejects with
   * its reason at once; a session that comes later goes back to the pool.
   */
  async [ACQUIRE] (token, digest, signal) {
    if (this.#ended) throw closedError()
    signal?.throwIfAborted()
    this.#acquiring++
    const own = token === null
    let pool
    let user = null // an App user's entry in #users
    let turn = false // a turn of session.acquireTurns taken, to give back
    let quick // the acquire will not wait long in the core
    try {
      pool = await this.#open()
      if (this.#ended) throw closedError()
      if (!own) user = this.#userEntry(digest)
      quick = this.#quick(user)
      if (!quick && own) {
        const h = await this.#waitHere(signal)
        if (h !== null) { // handed over (already held and counted)
          this.#acquiring--
          return h
        }
        quick = this.#quick(null) // a session went back to the core (or none came back for STALL_MS)
      }
      if (!quick) {
        turn = await session.acquireTurns.take(this, signal, own ? null : user.digest)
        quick = !turn // let go without a turn: a session came free
      }
      if (this.#ended) throw closedError()
    } catch (e) {
      if (turn) session.acquireTurns.give()
      this.#forget(user)
      this.#acquiring--
      this.#checkDrained()
      throw e
    }
    let abandoned = false // the caller stopped waiting (signal aborted) while the core looked for a session
    let settled = false
    const slow = own && !quick
    if (slow) this.#ownWaitingInCore++
    if (own) this.#ownAcquiring++
    else user.busy++
    const got = session.poolAcquire(pool, token, quick).then((h) => {
      settled = true
      this.#held++
      if (own) {
        this.#ownHeld.add(h)
      } else {
        user.busy++
        user.until = performance.now() + USER_TRUST_MS
        this.#userOf.set(h, user)
      }
      if (abandoned || this.#ended) {
        this[GIVE_BACK](h, false)
        throw abandoned ? signal.reason : closedError()
      }
      return h
    }, (e) => {
      settled = true
      throw e
    }).finally(() => {
      if (slow) this.#ownWaitingInCore--
      if (own) this.#ownAcquiring--
      else user.busy--
      this.#forget(user)
      if (abandoned) this.#abandoned--
      if (turn) session.acquireTurns.give()
      this.#acquiring--
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

  /**
   * Whether an acquire, of the pool's own identity (user null) or of an
   * App user (user, the token's entry in #users), will not wait long in
   * the core: one of the pool's own while it holds fewer than its max
   * sessions; one of a user whose token took a session within
   * USER_TRUST_MS (the core has it verified) while no other session of
   * the token is held or coming (MaxUserConnections is at least 1).
   */
  #quick (user) {
    if (!user) return this.#ownHeld.size + this.#ownAcquiring + this.#queue.inFlight < this.#max // a pipeline in flight may hold one
    return user.busy === 0 && user.until > performance.now()
  }

  /**
   * Waits here for a session of the pool's own identity (see HAND_OVERS):
   * resolves with a session's handle handed over, or with null when the
   * acquire is to go to the core; rejects with signal's reason when it
   * aborts, or when the pool ends.
   */
  #waitHere (signal) {
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, signal, onAbort: null }
      if (signal) {
        w.onAbort = () => {
          this.#waiting.splice(this.#waiting.indexOf(w), 1)
          this.#release(0) // stops the stall timer when none is left
          reject(signal.reason)
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      if (this.#waiting.push(w) === 1) {
        this.#lastBack = performance.now()
        this.#stallTimer = setInterval(() => {
          if (performance.now() - this.#lastBack >= STALL_MS) this.#release(this.#waiting.length, null)
        }, STALL_MS)
      }
    })
  }

  /** Lets the first n acquires waiting here go, each with value (a handle, or null: to the core), or rejects them (error). */
  #release (n, value, error) {
    const taken = this.#waiting.splice(0, n)
    if (this.#waiting.length === 0 && this.#stallTimer) {
      clearInterval(this.#stallTimer)
      this.#stallTimer = null
    }
    for (const w of taken) {
      w.signal?.removeEventListener('abort', w.onAbort)
      if (error) w.reject(error)
      else w.resolve(value)
    }
  }

  /**
   * Gives a session back to the core pool, which decides whether it
   * serves again (destroy: ends it on the server instead). Resolves when
   * it is back; never rejects: a session that cannot be given back is the
   * core's to drop. clean (a pool.query's that succeeded): a session of
   * the pool's own identity goes to the first acquire waiting here
   * instead, HAND_OVERS times in a row at most, unless acquires of the
   * pool's own wait in the core (they came first).
   */
  [GIVE_BACK] (h, destroy, clean) {
    if (this.#ownHeld.has(h)) {
      this.#lastBack = performance.now()
      const times = this.#handedOver.get(h) ?? 0
      // (Not while acquires of the pool's own wait in the core: the session goes there, to the first of them.)
      if (clean && !destroy && this.#waiting.length && this.#ownWaitingInCore === 0 && times < HAND_OVERS) {
        this.#handedOver.set(h, times + 1)
        this.#release(1, h)
        return Promise.resolve()
      }
      this.#handedOver.delete(h)
    }
    const done = destroy ? session.discard(h) : session.close(h)
    return done.catch(() => {}).finally(() => {
      this.#held--
      const user = this.#userOf.get(h) ?? null
      if (user) {
        user.busy--
        this.#userOf.delete(h)
      } else {
        this.#ownHeld.delete(h)
      }
      this.#cameFree(user)
    })
  }

  /**
   * A session of the pool's own identity (user null) or of an App user's
   * (user) may be free in the core: an acquire that will now be quick goes
   * there.
   */
  #cameFree (user) {
    if (this.#quick(user)) session.acquireTurns.skip(this, user?.digest ?? null) // one waiting for a turn may go now
    if (!user && this.#waiting.length && this.#quick(null)) this.#release(1, null) // to take it in the core
    this.#checkDrained()
  }

  /**
   * A PoolClient on session h (connect()'s), emitting 'acquire' now, and
   * 'release' (and 'remove' when release(err) ends the session) as it is
   * given back.
   */
  [CLIENT] (h, opts) {
    const client = new PoolClient(new HeldSession(h, opts, true), (handle, err) => {
      this.emit('release', err, client)
      if (err) this.emit('remove', client)
      return this[GIVE_BACK](handle, Boolean(err))
    })
    this.emit('acquire', client)
    return client
  }

  #checkDrained () {
    if (this.#ended && this.#held === 0 && this.#acquiring === 0 && this.#queued === 0) this.#drained()
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
   * MaxUserConnections sessions each). A request without a token throws
   * an AuthError.
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
      this.#release(this.#waiting.length, null, closedError())
      this.#queue.refuse(closedError())
      session.acquireTurns.refuse(this, closedError())
      this.#checkDrained()
      await drained
      this.#users.clear()
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
    return `Pool <${this.#shown}> ${inspect({ total, idle, acquired, waiting: waiting + session.acquireTurns.waiting(this), ended: this.#ended }, options)}`
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

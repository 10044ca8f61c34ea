'use strict'
// The Connection's pool of native sessions for one connection string, as
// pg-pool composes pg's clients. Its boundary: acquire(), release(), use(),
// close() and the counts; nothing else in lib/ keeps sessions or decides
// whether one survives an error (reusable() is the rule).
//
// A native handle (lib/session.js) runs one statement at a time, and a new
// statement discards an unread result. So the pool holds up to max
// handles, gives each query an idle one (opening one when none is idle,
// waiting when all are busy), and transaction() and stream() hold one until
// they end. Up to IDLE_KEEP idle handles are kept for IDLE_MS; the others go
// back to the core's pool, which checks a session's health before handing it
// out again.

const session = require('./session')
const { InterfaceError } = require('./errors')

/** The core's pool size when MaxConnections is not given (lakebase.OpenPoolSize). */
const DEFAULT_MAX_CONNECTIONS = 50
/**
 * Idle handles kept, and for how long, before they go back to the core's
 * pool, which keeps the sessions (other Connections for the same string
 * draw from it too).
 */
const IDLE_KEEP = 4
const IDLE_MS = 10000

/** Whether a handle may run more statements after err: not after a lost session. */
function reusable (err) {
  const s = err && err.sqlstate
  return Boolean(s) && !s.startsWith('08') && !s.startsWith('57P')
}

/** The pool size a connection string's properties ask for (MaxConnections, any case), or the default. */
function maxConnections (properties) {
  const given = Number(Object.entries(properties).find(([k]) => k.toLowerCase() === 'maxconnections')?.[1])
  return given > 0 ? given : DEFAULT_MAX_CONNECTIONS
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

/** Up to max native sessions for connStr. Every method is safe to call concurrently. */
class Pool {
  #connStr
  #max
  #idle = [] // {handle, timer}
  #total = 0 // handles open or opening
  #returning = 0 // handles being closed
  #waiters = [] // Waiter
  #closed = false
  #drained = null // resolves when the last busy handle is released after close()

  /** A pool for connStr of up to max handles, starting with handle first (already open). */
  constructor (connStr, max, first) {
    this.#connStr = connStr
    this.#max = max
    this.#total = 1
    this.#put(first, true)
  }

  /** Handles open, idle, and queries waiting for one (node-postgres's names). */
  get totalCount () { return this.#total }
  get idleCount () { return this.#idle.length }
  get waitingCount () { return this.#waiters.length }

  /** The counts, the size and whether closed, for inspect. */
  get state () {
    return { total: this.#total, idle: this.#idle.length, waiting: this.#waiters.length, max: this.#max, closed: this.#closed }
  }

  /** A handle: an idle one, a new one, or the next one released; waiting ends early when signal aborts. */
  async acquire (signal) {
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

  /** Gives back an acquired handle; err, the error its holder met (if any), drops it when the session is lost. */
  release (handle, err) {
    this.#put(handle, !err || reusable(err))
  }

  /** Runs fn(handle) on an acquired handle and releases it after. */
  async use (fn, signal) {
    const h = await this.acquire(signal)
    let healthy = true
    try {
      return await fn(h)
    } catch (e) {
      healthy = reusable(e) || (signal !== undefined && e === signal.reason) // aborted before it started: the session is untouched
      throw e
    } finally {
      this.#put(h, healthy)
    }
  }

  /**
   * Closes the pool: acquire() is refused, waiting ones rejected, and
   * every session returns to the core's pool once its holder releases it.
   * Resolves when all are returned.
   */
  close () {
    if (this.#closed) return this.#drained.promise
    this.#closed = true
    this.#drained = resolvers()
    for (const w of this.#waiters.splice(0)) w.reject(new InterfaceError('lakelink: the connection was closed', { code: 'LAKELINK_CLOSED' }))
    for (const entry of this.#idle.splice(0)) {
      clearTimeout(entry.timer)
      this.#put(entry.handle, false)
    }
    if (this.#total === 0 && this.#returning === 0) this.#drained.resolve()
    return this.#drained.promise
  }

  async #open () {
    this.#total++
    try {
      return await session.open(this.#connStr)
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
      this.#open().then((h) => { if (!w.resolve(h)) this.#put(h, true) }, (e) => w.reject(e)) // aborted meanwhile: the handle goes to the next
    }
  }

  /** Hands a released handle to a waiter, keeps it idle, or drops it (unhealthy, closed, or enough idle). */
  #put (handle, healthy) {
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
    session.close(handle).catch(() => {}).finally(() => {
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
}

function resolvers () {
  let resolve
  let reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

module.exports = { Pool, reusable, maxConnections }

'use strict'
// Loading the library (liblakelink.so; see libraryName) with koffi and calling its C ABI (lakelink.h).
//
// The library is found, in order: at $LAKELINK_LIBRARY; in the running
// platform's package (lakelink-linux-x64-gnu ..., lib/platforms.js), which
// npm installs as an optionalDependency; in build/out of the source checkout
// this package sits in (bindings/node -> ../../build/out).
//
// Every call into Go that may wait runs off the main thread, so the event
// loop never waits (quick ones, a pool's counts or a connection string's
// merge, run on it): the calls queries are made of on lakelink's caller
// threads when one is idle (lib/caller.js), every call otherwise on a
// libuv threadpool thread through koffi's `.async`. libuv's
// pool has 4 threads unless UV_THREADPOOL_SIZE says otherwise, which would
// run at most 4 queries at once and starve fs and dns meanwhile: when the
// variable is not set, loading lakelink sets it to THREADPOOL_SIZE, which
// works if nothing has used the pool yet, and warns once when it was too
// late (see checkThreadpool).

const fs = require('node:fs')
const path = require('node:path')

/**
 * The threadpool size lakelink asks for: room for the calls of many
 * sessions at once (lib/session.js lets half of the threads at most wait
 * for a session), and for fs, dns and crypto.
 */
const THREADPOOL_SIZE = 64
/** libuv's threadpool size when UV_THREADPOOL_SIZE is not set, and its bounds. */
const UV_DEFAULT_THREADS = 4
const UV_MAX_THREADS = 1024
const weSetThreadpool = !process.env.UV_THREADPOOL_SIZE
if (weSetThreadpool) process.env.UV_THREADPOOL_SIZE = String(THREADPOOL_SIZE)
/** The threads libuv's threadpool has, as it reads UV_THREADPOOL_SIZE (or will, when it starts); see checkThreadpool. */
let threadpoolThreads = Math.min(UV_MAX_THREADS, Math.max(1, Number.parseInt(process.env.UV_THREADPOOL_SIZE, 10) || UV_DEFAULT_THREADS))

const koffi = require('koffi')
const errors = require('./errors')
const { Callers } = require('./caller')
const { ABI_VERSION, ERROR_FIELDS, PROTOTYPES, nameOf } = require('./abi')
const platforms = require('./platforms')

/**
 * The library's file name on a platform (a process.platform value): lakelink.dll
 * on Windows, liblakelink.dylib on macOS, liblakelink.so elsewhere.
 */
function libraryName (platform = process.platform) {
  if (platform === 'win32') return 'lakelink.dll'
  if (platform === 'darwin') return 'liblakelink.dylib'
  return 'liblakelink.so'
}

const LIBRARY_NAME = libraryName()

const ErrorStruct = koffi.struct('lakelink_error', ERROR_FIELDS)

/** The paths tried, in order. */
function candidates () {
  const env = process.env.LAKELINK_LIBRARY
  if (env) return [path.resolve(env)]
  const tried = []
  const platform = platforms.current()
  if (platform) {
    try {
      tried.push(require(platform.pkg)) // the package's main module is its library's path
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e
    }
  }
  tried.push(path.resolve(__dirname, '..', '..', '..', 'build', 'out', LIBRARY_NAME))
  return tried
}

/** Why no library was found, with what to do about it. */
function notFound (tried) {
  const platform = platforms.current()
  const where = `(tried ${tried.join(', ')})`
  if (!platform) return `${platforms.unsupported()} ${where}`
  return `lakelink: ${platform.pkg}, the package with the library for ${platforms.describe()}, is not installed ${where}: ` +
    'npm installs it with lakelink as an optional dependency (not with --omit=optional or --no-optional); ' +
    'or set LAKELINK_LIBRARY to a liblakelink, or run `make build` in the lakelink checkout'
}

let loaded = null
let callers = null // lib/caller.js's threads, once loaded
const running = new Map() // connection handle -> its calls in flight (callDirect)
const openPools = new Set() // core pools' handles, while open (lib/session.js)
const indexOf = new Map() // a loaded function -> its index in PROTOTYPES

/** Whether this platform has the library's sockets (POSIX): pipeline channels (lib/channel.js) and COPY sockets (lib/copy.js). */
const socketsAvailable = process.platform !== 'win32'

/** The library's functions, by their C names without the lakelink_ prefix (loaded on first use). */
function lib () {
  if (loaded) return loaded
  const tried = candidates()
  const file = tried.find((p) => fs.existsSync(p))
  if (!file) {
    throw new errors.InterfaceError(notFound(tried))
  }
  let handle
  try {
    handle = koffi.load(file)
  } catch (e) {
    throw new errors.InterfaceError(`lakelink: cannot load ${file}: ${e.message}`)
  }
  const fns = { path: file }
  for (const [i, proto] of PROTOTYPES.entries()) {
    const name = nameOf(proto)
    try {
      fns[name] = handle.func(proto)
      indexOf.set(fns[name], i)
    } catch (e) {
      throw new errors.InterfaceError(`lakelink: ${file} has no lakelink_${name}: a library too old for this binding (${e.message})`)
    }
  }
  const abi = fns.abi_version()
  if (abi !== ABI_VERSION) {
    throw new errors.InterfaceError(`lakelink: ${file} has ABI version ${abi}; this binding needs version ${ABI_VERSION}`)
  }
  // Once per process: the binding and runtime in the User-Agent of the library's HTTP requests.
  fns.set_user_agent(`binding/node node/${process.versions.node}`, [null])
  loaded = fns
  callers = new Callers(file)
  process.on('exit', () => {
    // Node stops the caller threads next (see lib/caller.js): the calls on
    // them end first. The process is leaving: nothing to report to.
    for (const h of running.keys()) {
      try { fns.cancel(h, [null]) } catch {}
    }
    for (const p of openPools) {
      try { fns.pool_close(p, [null]) } catch {} // ends the acquires waiting for a session
    }
    callers.settle()
  })
  if (weSetThreadpool) checkThreadpool(fns.abi_version)
  return fns
}

/**
 * Warns once when the libuv threadpool existed before lakelink set
 * UV_THREADPOOL_SIZE (something used fs, dns or crypto asynchronously
 * before require('lakelink')): the pool then has libuv's 4 threads. A
 * trivial async call starts the pool if it does not exist yet, which shows
 * as THREADPOOL_SIZE new threads of this process (Linux's /proc).
 */
function checkThreadpool (probe) {
  const threads = () => fs.readdirSync('/proc/self/task').length
  let before
  try {
    before = threads()
  } catch {
    return // not Linux: no way to tell
  }
  probe.async((err) => {
    if (err || threads() - before >= THREADPOOL_SIZE / 2) return
    threadpoolThreads = UV_DEFAULT_THREADS
    process.emitWarning('the libuv threadpool was started before lakelink was loaded, so it has ' +
      'the default 4 threads: at most 4 lakelink calls (queries, token requests) run at once, and they ' +
      'hold up fs, dns and crypto meanwhile. Start node with UV_THREADPOOL_SIZE=64 (or more) in the ' +
      'environment, or require lakelink before anything else.', { code: 'LAKELINK_THREADPOOL' })
  })
}

/**
 * Frees memory the library returned, here on the main thread: lakelink_free
 * is plain C, a call to free(3).
 */
function free (ptr) {
  if (ptr) loaded.free(ptr)
}

/** Frees a lakelink_error (and its strings). */
function errorFree (ptr) {
  if (ptr) loaded.error_free(ptr)
}

/** Calls fn.async with args (on a threadpool thread) and resolves with its status. */
function callAsync (fn, ...args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, rc) => (err ? reject(err) : resolve(rc)))
  })
}

/**
 * Calls fn with args on an idle caller thread (lib/caller.js), else as
 * callAsync does, and resolves with its status: for the calls a query is
 * made of (taking a session from a pool, its statement, giving it back).
 */
function callQuick (fn, ...args) {
  return callers.call(indexOf.get(fn), args) ?? callers.track(callAsync(fn, ...args))
}

/**
 * Calls fn with args, a call of a statement on connection handle conn, as
 * callQuick does. A statement still running when the process exits is
 * cancelled (lakelink_cancel, bounded by the connection's Timeout): an exit
 * does not wait for a long statement, and an uncommitted one rolls back.
 */
function callDirect (conn, fn, ...args) {
  return whileRunning(conn, callQuick(fn, ...args))
}

/** Counts promise, a statement's on connection handle conn, as running until it settles (see callDirect); returns it. */
function whileRunning (conn, promise) {
  running.set(conn, (running.get(conn) ?? 0) + 1)
  return promise.finally(() => {
    const n = running.get(conn) - 1
    if (n) running.set(conn, n)
    else running.delete(conn)
  })
}

/** Throws the lakelink error for a failed call (freeing it); returns on success. */
function check (rc, errOut) {
  if (rc === 0) return
  const ptr = errOut[0]
  if (!ptr) throw new errors.InternalError(`lakelink: status ${rc} without an error`, { status: rc })
  let e
  try {
    e = koffi.decode(ptr, ErrorStruct)
  } finally {
    errorFree(ptr)
  }
  throw errors.fromFailure(e, rc)
}

/** Copies a string the library returned and frees it ('' for NULL). */
function takeString (ptr) {
  if (!ptr) return ''
  try {
    return koffi.decode.string(ptr)
  } finally {
    free(ptr)
  }
}

/**
 * Lends the n bytes the library returned at ptr, as an ArrayBuffer over the
 * native memory (no copy), to use(ab); frees them when use returns. use
 * must keep no view of ab.
 */
function withBytes (ptr, n, use) {
  try {
    return use(koffi.view(ptr, Number(n)))
  } finally {
    free(ptr)
  }
}

/** A JS string as a C string argument: NUL is refused, null and undefined stay NULL. */
function cstr (s, what) {
  if (s === null || s === undefined) return null
  if (typeof s !== 'string') throw new TypeError(`lakelink: ${what} must be a string, not ${typeof s}`)
  if (s.includes('\0')) throw new errors.InterfaceError(`lakelink: ${what} holds a NUL character`)
  return s
}

/**
 * The threads of libuv's threadpool: UV_THREADPOOL_SIZE's, or libuv's 4
 * once lakelink found that the pool had started before it set the
 * variable (checkThreadpool, just after the library loads).
 */
function threadpoolSize () {
  return threadpoolThreads
}

/** The library's version string. */
function version () {
  return lib().version()
}

module.exports = { lib, libraryName, socketsAvailable, callAsync, callQuick, callDirect, whileRunning, openPools, check, free, errorFree, takeString, withBytes, cstr, version, candidates, threadpoolSize, THREADPOOL_SIZE }

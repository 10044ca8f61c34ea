'use strict'
// Loading liblakelink.so with koffi and calling its C ABI (lakelink.h).
//
// The library is found, in order: at $LAKELINK_LIBRARY; next to this
// package's index.js (the copy `npm pack` puts in the tarball); in build/out
// of the source checkout this package sits in (bindings/node ->
// ../../build/out).
//
// Every call that may block (network, database) runs on a libuv threadpool
// thread through koffi's `.async`, so the event loop never waits. libuv's
// pool has 4 threads unless UV_THREADPOOL_SIZE says otherwise, which would
// run at most 4 queries at once and starve fs and dns meanwhile: when the
// variable is not set, loading lakelink sets it to THREADPOOL_SIZE, which
// works if nothing has used the pool yet, and warns once when it was too
// late (see checkThreadpool).

const fs = require('node:fs')
const path = require('node:path')

/** The threadpool size lakelink asks for: the default pool of 50 sessions, and room for fs, dns and crypto. */
const THREADPOOL_SIZE = 64
const weSetThreadpool = !process.env.UV_THREADPOOL_SIZE
if (weSetThreadpool) process.env.UV_THREADPOOL_SIZE = String(THREADPOOL_SIZE)

const koffi = require('koffi')
const errors = require('./errors')
const { startFreer } = require('./freer')

const ABI_VERSION = 1
const LIBRARY_NAME = 'liblakelink.so'

const ErrorStruct = koffi.struct('lakelink_error', {
  code: 'int32_t',
  message: 'const char *',
  sqlstate: 'const char *',
  diagnosis: 'const char *',
  http_status: 'int32_t',
  kind: 'const char *',
  detail: 'const char *', // appended to the struct after kind (lakelink.h)
  hint: 'const char *'
})

// The prototypes of lakelink.h. Out-parameters are `_Out_ void **` (a
// pointer the library allocated, freed here with lakelink_free) or
// `_Out_ <int> *`; koffi fills a one-element array.
const PROTOTYPES = [
  'const char *lakelink_version()',
  'int32_t lakelink_abi_version()',
  'void lakelink_free(void *p)',
  'void lakelink_error_free(void *err)',
  'int32_t lakelink_connstr_normalize(const char *conn_str, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_connstr_merge(const char *conn_str, const char *overrides_json, _Out_ void **out, _Out_ void **err)',
  'int32_t lakelink_token(const char *conn_str, _Out_ void **token_out, _Out_ int64_t *expires_out, _Out_ void **err)',
  'int32_t lakelink_app_authorize(const char *conn_str, const char *app_url, const char *method, const char *url, ' +
    '_Out_ void **authorization_out, _Out_ void **err)',
  'int32_t lakelink_app_diagnose(const char *conn_str, const char *method, const char *url, const char *sent_authorization, ' +
    'int32_t status, const char *headers_json, const uint8_t *body, int64_t body_len, const char *network_error, _Out_ void **err)',
  'int32_t lakelink_oauth_authorization_url(const char *conn_str, const char *callback_url, const char *scope, ' +
    'const char *state, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_oauth_access_token(const char *conn_str, const char *verifier, const char *auth_mode, ' +
    'const char *callback_url, const char *state, const char *pkce_verifier, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_oauth_refresh(const char *conn_str, const char *refresh_token, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_connect(const char *conn_str, _Out_ uint64_t *conn_out, _Out_ void **err)',
  'int32_t lakelink_query(uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len, int32_t max_rows, ' +
    'const char *format, _Out_ void **columns_json_out, _Out_ void **batch_out, _Out_ int64_t *len_out, ' +
    '_Out_ void **command_tag_out, _Out_ int64_t *rows_affected_out, _Out_ uint64_t *result_out, _Out_ void **err)',
  'int32_t lakelink_result_next_batch(uint64_t result, int32_t max_rows, const char *format, _Out_ void **batch_out, ' +
    '_Out_ int64_t *len_out, _Out_ void **err)',
  'int32_t lakelink_result_status(uint64_t result, _Out_ void **command_tag_out, _Out_ int64_t *rows_affected_out, ' +
    '_Out_ void **err)',
  'int32_t lakelink_result_close(uint64_t result, _Out_ void **err)',
  'int32_t lakelink_begin(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_commit(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_rollback(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_cancel(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_close(uint64_t conn, _Out_ void **err)'
]

/** The paths tried, in order. */
function candidates () {
  const env = process.env.LAKELINK_LIBRARY
  if (env) return [path.resolve(env)]
  const pkg = path.resolve(__dirname, '..')
  return [path.join(pkg, LIBRARY_NAME), path.resolve(pkg, '..', '..', 'build', 'out', LIBRARY_NAME)]
}

let loaded = null
let freeRing = null // the freer thread's ring (lib/freer.js), once loaded

/** The library's functions, by their C names without the lakelink_ prefix (loaded on first use). */
function lib () {
  if (loaded) return loaded
  const tried = candidates()
  const file = tried.find((p) => fs.existsSync(p))
  if (!file) {
    throw new errors.InterfaceError(`lakelink: ${LIBRARY_NAME} not found (tried ${tried.join(', ')}); ` +
      'set LAKELINK_LIBRARY to its path, or run `make build` in the lakelink checkout')
  }
  let handle
  try {
    handle = koffi.load(file)
  } catch (e) {
    throw new errors.InterfaceError(`lakelink: cannot load ${file}: ${e.message}`)
  }
  const fns = { path: file }
  for (const proto of PROTOTYPES) {
    const name = /lakelink_(\w+)\(/.exec(proto)[1]
    try {
      fns[name] = handle.func(proto)
    } catch (e) {
      throw new errors.InterfaceError(`lakelink: ${file} has no lakelink_${name}: a library too old for this binding (${e.message})`)
    }
  }
  const abi = fns.abi_version()
  if (abi !== ABI_VERSION) {
    throw new errors.InterfaceError(`lakelink: ${file} has ABI version ${abi}; this binding needs version ${ABI_VERSION}`)
  }
  loaded = fns
  freeRing = startFreer(file, (address) => fns.free.async(address, noop))
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
    process.emitWarning('the libuv threadpool was started before lakelink was loaded, so it has ' +
      'the default 4 threads: at most 4 lakelink calls (queries, token requests) run at once, and they ' +
      'hold up fs, dns and crypto meanwhile. Start node with UV_THREADPOOL_SIZE=64 (or more) in the ' +
      'environment, or require lakelink before anything else.', { code: 'LAKELINK_THREADPOOL' })
  })
}

/**
 * Frees memory the library returned, without waiting: the freer thread
 * does it (lib/freer.js), or, when its ring is full or it could not start
 * or died, a threadpool thread. Every call into the Go library from a koffi
 * call re-reads the calling thread's stack bounds (koffi runs C on a stack
 * of its own, outside them), which on the main thread means parsing
 * /proc/self/maps: 0.2 to 1 ms. So no call but the rare parsing ones is
 * made on the main thread, frees included.
 */
function free (ptr) {
  if (ptr && !freeRing?.push(koffi.address(ptr))) loaded.free.async(ptr, noop)
}

/** Frees a lakelink_error (and its strings) on a threadpool thread: errors are rare, the freer thread knows only lakelink_free. */
function errorFree (ptr) {
  if (ptr) loaded.error_free.async(ptr, noop)
}

function noop () {}

/** Calls fn.async with args and resolves with its status. */
function callAsync (fn, ...args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, rc) => (err ? reject(err) : resolve(rc)))
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
  throw errors.fromNative(e.code || rc, e.message || '', e.sqlstate || '', e.diagnosis || '', e.http_status, e.kind || '',
    e.detail || '', e.hint || '')
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

/** The library's version string. */
function version () {
  return lib().version()
}

module.exports = { lib, callAsync, check, free, errorFree, takeString, withBytes, cstr, version, candidates, THREADPOOL_SIZE }

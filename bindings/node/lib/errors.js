'use strict'
// Errors, and the mapping from the C ABI's lakelink_error to them.
//
// Every error is an Error whose `code` is, like node-postgres's, the
// server's SQLSTATE when there is one ('23505', '57014'; the core also
// gives class 22 to values it cannot convert: '22023' for a parameter,
// '22000' for a result value), and otherwise a LAKELINK_* string naming
// what failed. Messages come from the core, which never puts a secret in
// them.

const util = require('node:util')

/** The C ABI's status codes (lakelink.h) and the `code` of an error without a SQLSTATE. */
const STATUS_CODES = {
  '-1': 'LAKELINK_INVALID_ARGUMENT',
  '-2': 'LAKELINK_INVALID_HANDLE',
  '-3': 'LAKELINK_CONNECTION_STRING',
  '-4': 'LAKELINK_AUTH',
  '-5': 'LAKELINK_DATABASE',
  '-6': 'LAKELINK_APP',
  '-7': 'LAKELINK_INTERNAL'
}

/** The base class of every lakelink error. */
class LakelinkError extends Error {
  constructor (message, { code, sqlstate } = {}) {
    super(message)
    this.name = new.target.name
    /** The SQLSTATE, or a LAKELINK_* code. */
    this.code = sqlstate || code || 'LAKELINK_ERROR'
    /** The server's SQLSTATE, or undefined. */
    this.sqlstate = sqlstate || undefined
  }
}

/** A misuse of the binding or the library: a closed connection, a bad argument. */
class InterfaceError extends LakelinkError {}

/** A connection string that does not parse or names an unknown property. */
class ConnectionStringError extends LakelinkError {}

/** No token: a failed login, a refused client secret, an unreachable token endpoint. */
class AuthError extends LakelinkError {}

/**
 * A database error: `code` is the SQLSTATE when the server answered, and
 * `detail` and `hint` the server's DETAIL and HINT (node-postgres's
 * fields; undefined when it sent none). The message says which host and
 * user, and the server's own message and detail.
 */
class DatabaseError extends LakelinkError {
  constructor (message, opts = {}) {
    super(message, opts)
    /** The server's DETAIL, such as 'Key (id)=(1) already exists.', or undefined. */
    this.detail = opts.detail || undefined
    /** The server's HINT, or undefined. */
    this.hint = opts.hint || undefined
  }
}

/** A bug in lakelink (a recovered panic included). */
class InternalError extends LakelinkError {}

/**
 * A failed Databricks App call: `status` is the HTTP status (0 for a
 * network error or a request refused before sending), `kind` one of
 * unauthorized, forbidden, not_found, login_redirect, network,
 * not_api_path, other_host, too_large (an answer over 64 MiB), http,
 * `diagnosis` why and what to check (the core's words), `response` the
 * app's Response when there was one.
 */
class AppError extends LakelinkError {
  #response

  constructor (message, { status = 0, kind = '', diagnosis = '', response } = {}) {
    super(diagnosis ? `${message}\n${diagnosis}` : message, { code: 'LAKELINK_APP' })
    this.status = status
    this.kind = kind
    this.diagnosis = diagnosis
    this.#response = response
  }

  /**
   * The app's Response, or undefined. An accessor, not a property of the
   * error's own: inspect and JSON.stringify do not show it, since its
   * headers may carry the app's cookies and its url the query the message
   * redacts.
   */
  get response () { return this.#response }
  set response (r) { this.#response = r }

  /** As inspect shows errors, but never calling the response getter (not even with {getters: true}). */
  [util.inspect.custom] (depth, options, inspect) {
    return inspect(this, { ...options, depth, customInspect: false, getters: false })
  }
}

/** The class of an error without a SQLSTATE, by its code (LAKELINK_APP's is AppError). */
const CLASSES = {
  LAKELINK_INVALID_ARGUMENT: InterfaceError,
  LAKELINK_INVALID_HANDLE: InterfaceError,
  LAKELINK_CONNECTION_STRING: ConnectionStringError,
  LAKELINK_AUTH: AuthError,
  LAKELINK_DATABASE: DatabaseError,
  LAKELINK_INTERNAL: InternalError
}

/** The error for a failed C ABI call. */
function fromNative (status, message, sqlstate, diagnosis, httpStatus, kind, detail, hint) {
  const code = STATUS_CODES[status]
  if (code === 'LAKELINK_APP') return new AppError(message, { status: httpStatus, kind, diagnosis })
  const Class = sqlstate ? DatabaseError : (CLASSES[code] || LakelinkError)
  return new Class(message, { code, sqlstate, detail, hint })
}

/**
 * The error for a failure the library gave as JSON (a lakelink_error's
 * fields: a pipelined statement's, a socket's answer), status the answer's
 * own when the JSON has no code.
 */
function fromFailureJSON (json, status) {
  return fromFailure(JSON.parse(json), status)
}

/** The error for a failure's fields (a lakelink_error's, by their C names), status the call's when it has no code. */
function fromFailure (e, status) {
  return fromNative(e.code || status, e.message || '', e.sqlstate || '', e.diagnosis || '', e.http_status, e.kind || '',
    e.detail || '', e.hint || '')
}

/** The error classes both entry points (lakelink, lakelink/wasm) export. */
const classes = { LakelinkError, InterfaceError, ConnectionStringError, AuthError, DatabaseError, InternalError, AppError }

module.exports = { ...classes, classes, fromNative, fromFailure, fromFailureJSON, STATUS_CODES }

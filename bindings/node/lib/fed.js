'use strict'
// Statements whose answers the event loop reads itself (lakelink.h,
// lakelink_query_send), as Postgres.js and node-postgres read theirs: the
// statement is sent from the main thread, the loop watches the session's
// socket (a duplicate of it, net.Socket reading into one buffer) and hands
// what comes to the library, which decrypts it and tells when the whole
// answer is there; the answer is then read on the main thread too. No
// thread waits for the server, and none has to wake the loop. What the
// library does not send so (a statement it has not prepared yet, a
// transaction, a large answer) goes through a caller thread as before.
// POSIX only: elsewhere a session's socket is not a descriptor Node reads.

const fs = require('node:fs')
const net = require('node:net')
const { lib, callDirect, whileRunning, check, errorFree, socketsAvailable } = require('./native')

/** lakelink_query_send's *sending_out. */
const SEND = { NOT_SENT: 0, PREPARE_FIRST: 1, SENT: 2 }
/** lakelink_query_feed's *feeding_out. */
const FEED = { MORE: 0, COMPLETE: 1, WAIT: 2 }
/** The bytes a read of the session's socket takes at most. */
const READ_BUFFER_SIZE = 64 * 1024

/**
 * The socket of session handle h as the loop reads it: only while a
 * statement sent waits for its answer (between statements the library
 * reads it, on its own threads).
 */
class SessionSocket {
  #h
  #socket
  #answered = null // resolves the answer() in progress with a FEED value
  broken = false // the socket ended or failed: statements go through the library's threads

  constructor (h, fd) {
    this.#h = h
    this.#socket = new net.Socket({
      fd,
      readable: true,
      writable: false,
      allowHalfOpen: true, // never shut the session's socket down: it is the library's
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE), callback: (n, buf) => this.#read(n, buf) }
    })
    this.#socket.pause() // with onread, stops reading at once
    const fail = () => {
      this.broken = true
      this.#settle(FEED.WAIT) // the library's read then reports what happened
    }
    this.#socket.on('error', fail).on('end', fail).on('close', fail)
  }

  /** Reads the socket until the answer of the statement sent has come: a FEED value other than MORE. */
  answer () {
    return new Promise((resolve) => {
      this.#answered = resolve
      this.#socket.resume()
    })
  }

  /** Passes n bytes read (in buf) to the library; false stops reading. */
  #read (n, buf) {
    const feeding = [FEED.WAIT]
    const err = [null]
    if (lib().query_feed(this.#h, buf, n, feeding, err) !== 0) errorFree(err[0]) // a closed handle: receiving says so
    if (feeding[0] === FEED.MORE) return true
    this.#settle(feeding[0])
    return false
  }

  #settle (feeding) {
    const answered = this.#answered
    this.#answered = null
    answered?.(feeding)
  }

  /** Closes the duplicate (the session stays open); an answer awaited is left to the library to read. */
  close () {
    this.broken = true
    this.#socket.destroy()
    this.#settle(FEED.WAIT)
  }
}

/** Session handles' sockets, opened on their first statement; null where there can be none. */
const sockets = new Map()

/** Handle h's SessionSocket, or null when it has none (or it broke). */
function socketOf (h) {
  let s = sockets.get(h)
  if (s === undefined) {
    s = null
    const fd = [-1]
    const err = [null]
    if (lib().session_socket(h, fd, err) === 0) {
      try {
        s = new SessionSocket(h, fd[0])
      } catch {
        fs.closeSync(fd[0]) // net.Socket could not take it: the library's threads read
      }
    } else {
      errorFree(err[0])
    }
    sockets.set(h, s)
  }
  return s && !s.broken ? s : null
}

/**
 * Runs statement st (lib/statement.js's) on handle h reading its answer
 * on the loop, and resolves with lakelink_query_receive's status, its
 * outputs in outs ({cols, batch, len, tag, affected, result, err}, as
 * lakelink_query's); or with null when the library did not send it (run
 * it with lakelink_query). maxRows and format: the first batch's.
 */
async function query (h, st, maxRows, format, outs) {
  const socket = socketsAvailable && socketOf(h)
  if (!socket) return null
  const L = lib()
  const buf = st.params
  const sending = [SEND.NOT_SENT]
  const err = [null]
  const send = () => check(L.query_send(h, st.text, buf, buf ? buf.length : 0, sending, err), err)
  send()
  if (sending[0] === SEND.PREPARE_FIRST) {
    check(await callDirect(h, L.query_prepare, h, st.text, err), err)
    send()
  }
  if (sending[0] !== SEND.SENT) return null
  const feeding = await whileRunning(h, socket.answer()) // cancelled if the process exits meanwhile
  const args = [h, maxRows, format, outs.cols, outs.batch, outs.len, outs.tag, outs.affected, outs.result, outs.err]
  return feeding === FEED.COMPLETE ? L.query_receive(...args) : callDirect(h, L.query_receive, ...args)
}

/** Closes handle h's socket, if it has one: before the handle closes. */
function forget (h) {
  sockets.get(h)?.close()
  sockets.delete(h)
}

module.exports = { query, forget }

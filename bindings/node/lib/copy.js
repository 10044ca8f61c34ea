'use strict'
// copyFrom() and copyTo(): COPY FROM STDIN as a Writable and COPY TO STDOUT
// as a Readable, used as pg-copy-streams' streams are (write or pipe into
// one, then 'finish'; read or pipe from the other, then 'end'), on one
// session held until the COPY ends (lakelink.h, "Bulk: executemany and
// COPY").

const net = require('node:net')
const { Readable, Writable } = require('node:stream')
const native = require('./native')
const { lib, callDirect, check, withBytes, cstr } = native
const { fromFailureJSON, InternalError } = require('./errors')

/** Starts sql with start (lib().copy_from, copy_to or copy_from_socket) on the held session: {h, copy (its handle or descriptor), release}. */
async function begin (hold, start, sql) {
  const held = await hold()
  try {
    const out = [0]
    const err = [null]
    check(await callDirect(held.handle, start, held.handle, sql, out, err), err)
    return { h: held.handle, copy: out[0], release: held.release }
  } catch (e) {
    held.release()
    throw e
  }
}

/** Ends the COPY (abort: its reason, or null) and lets the session go; resolves with the rows copied. */
async function finish (c, abort) {
  try {
    const rows = [0]
    const err = [null]
    check(await callDirect(c.h, lib().copy_end, c.copy, abort, rows, err), err)
    return Number(rows[0])
  } finally {
    c.release()
  }
}

/** A COPY FROM fed through calls (lakelink_copy_write): where there is no COPY socket (Windows). */
class CallSink {
  #c

  constructor (c) {
    this.#c = c
  }

  /** Starts sql on the held session (hold's). */
  static async open (hold, sql) {
    return new CallSink(await begin(hold, lib().copy_from, sql))
  }

  /** Sends the Buffers chunks. */
  async write (chunks) {
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    const err = [null]
    check(await callDirect(this.#c.h, lib().copy_write, this.#c.copy, data, data.length, err), err)
  }

  /** Ends the COPY (abort: its reason, or null) and lets the session go: the rows copied. */
  end (abort) {
    return finish(this.#c, abort)
  }
}

/**
 * A COPY FROM fed through its socket (lakelink_copy_from_socket; TYPES.md,
 * "COPY sockets"): the data is written to the socket as to any, in frames,
 * and the library sends it on to the server, so that no chunk is a call
 * and the socket's buffer is the COPY's backpressure: the main thread
 * never waits for the server.
 * The library answers with the COPY's outcome once it has ended (early,
 * when the server refused the statement or a row).
 */
class SocketSink {
  #socket
  #release
  #outcome // resolves with the rows copied, or rejects with the COPY's error
  #failed = null // the COPY's error, once it came

  constructor (fd, release) {
    this.#release = release
    this.#socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true })
    this.#socket.unref() // referenced only while the COPY waits for the library: a stream left unfinished does not hold the process
    this.#socket.on('error', () => {}) // the outcome, or its absence at 'close', says what happened
    this.#outcome = new Promise((resolve, reject) => {
      const chunks = []
      this.#socket.on('data', (chunk) => {
        chunks.push(chunk)
        const b = Buffer.concat(chunks)
        if (b.length < 4 || b.length < 4 + b.readUInt32LE(0)) return
        const status = b.readInt32LE(4)
        if (status === 0) return resolve(Number(b.readBigInt64LE(8)))
        this.#failed = fromFailureJSON(b.subarray(8, 4 + b.readUInt32LE(0)).toString(), status)
        reject(this.#failed)
      })
      this.#socket.on('close', () => {
        this.#failed ??= new InternalError('lakelink: the COPY\'s socket closed without its outcome')
        reject(this.#failed)
      })
    })
    this.#outcome.catch(() => {}) // read at end()
  }

  /** Starts sql on the held session (hold's). */
  static async open (hold, sql) {
    const c = await begin(hold, lib().copy_from_socket, sql) // c.copy: the socket's descriptor
    return new SocketSink(c.copy, c.release)
  }

  /** Sends the Buffers chunks, resolving once the socket can take more; rejects once the COPY failed. */
  write (chunks) {
    if (this.#failed) return Promise.reject(this.#failed)
    let ok = true
    this.#socket.cork()
    for (const chunk of chunks) {
      this.#socket.write(frame(COPY_DATA, chunk.length))
      ok = this.#socket.write(chunk)
    }
    this.#socket.uncork()
    if (ok) return Promise.resolve()
    this.#socket.ref()
    return new Promise((resolve, reject) => { // until the socket took the data, or closed
      const done = () => {
        this.#socket.off('drain', done).off('close', done).unref()
        if (this.#failed) reject(this.#failed)
        else resolve()
      }
      this.#socket.on('drain', done).on('close', done)
    })
  }

  /** Ends the COPY (abort: its reason, or null) and lets the session go: the rows copied. */
  async end (abort) {
    this.#socket.ref()
    try {
      if (abort === null) {
        this.#socket.end(frame(COPY_DONE, 0))
      } else {
        const reason = Buffer.from(abort)
        this.#socket.end(Buffer.concat([frame(COPY_FAIL, reason.length), reason]))
      }
      return await this.#outcome
    } finally {
      this.#socket.destroy()
      this.#release()
    }
  }
}

/** The kinds of a COPY socket's frames (TYPES.md, "COPY sockets"). */
const COPY_DATA = 0x64 // 'd'
const COPY_DONE = 0x63 // 'c'
const COPY_FAIL = 0x66 // 'f'

/** A frame's head: its kind and the length of what follows. */
function frame (kind, n) {
  const head = Buffer.allocUnsafe(5)
  head[0] = kind
  head.writeUInt32LE(n, 1)
  return head
}

/**
 * COPY ... FROM STDIN as a Writable: what is written (Buffers or strings,
 * in the COPY's format) goes to the server; 'finish' comes once the server
 * took it all, rowCount then set. destroy(err), or an error, aborts the
 * COPY (the server rolls it back).
 */
class CopyFromStream extends Writable {
  #hold
  #sql
  #sink = null
  /** The rows copied, once finished. */
  rowCount = null

  constructor (hold, sql) {
    super({ highWaterMark: 1024 * 1024 }) // measured: 64 KiB and less cost a wake-up of the library per chunk
    this.#hold = hold
    this.#sql = cstr(sql, 'the COPY statement')
  }

  _construct (callback) {
    (native.socketsAvailable ? SocketSink : CallSink).open(this.#hold, this.#sql).then((sink) => { this.#sink = sink; callback() }, callback)
  }

  _writev (chunks, callback) {
    this.#sink.write(chunks.map((c) => c.chunk)).then(() => callback(), callback)
  }

  _final (callback) {
    const sink = this.#sink
    this.#sink = null
    sink.end(null).then((n) => { this.rowCount = n; callback() }, callback)
  }

  _destroy (error, callback) {
    const sink = this.#sink
    this.#sink = null
    if (!sink) return callback(error)
    sink.end(error ? `error from Node: ${error.message || error}` : 'the COPY stream was destroyed')
      .then(() => callback(error), (e) => callback(error || e))
  }
}

/**
 * COPY ... TO STDOUT as a Readable of Buffers, each whole rows in the
 * COPY's format (about 64 KiB of them); 'end' comes after the last, with
 * rowCount set. destroy() before the end drops the rest.
 */
class CopyToStream extends Readable {
  #hold
  #sql
  #c = null
  /** The rows copied, once ended. */
  rowCount = null

  constructor (hold, sql) {
    super({ highWaterMark: 4 })
    this.#hold = hold
    this.#sql = cstr(sql, 'the COPY statement')
  }

  _construct (callback) {
    begin(this.#hold, lib().copy_to, this.#sql).then((c) => { this.#c = c; callback() }, callback)
  }

  _read () {
    const c = this.#c
    const data = [null]
    const len = [0]
    const err = [null]
    callDirect(c.h, lib().copy_read, c.copy, data, len, err).then(async (rc) => {
      check(rc, err)
      if (data[0]) {
        this.push(withBytes(data[0], len[0], (view) => Buffer.from(new Uint8Array(view)))) // a copy: the memory is freed
        return
      }
      this.#c = null
      this.rowCount = await finish(c, null)
      this.push(null)
    }).catch((e) => this.destroy(e))
  }

  _destroy (error, callback) {
    const c = this.#c
    this.#c = null
    if (!c) return callback(error)
    finish(c, null).then(() => callback(error), (e) => callback(error || e))
  }
}

module.exports = { CopyFromStream, CopyToStream }

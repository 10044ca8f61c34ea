'use strict'
// Pipelines over the library's pipeline channel
// (lakelink_pipeline_channel_open): a Unix stream socket that the event
// loop writes requests to and reads answers from, as it does any socket's
// (TYPES.md, "Pipeline channels"). A pipeline then holds no thread while
// it waits for the server, where a call on a caller thread or the
// threadpool is held for its whole round trip, and the main thread, which
// must never wait for the server, calls into the library only to open the
// channel. The requests written in one turn of the event loop go out in
// one write.
//
// POSIX only: on Windows a pipeline is a call (lib/session.js).

const net = require('node:net')
const native = require('./native')
const errors = require('./errors')

/** The bytes of a request's head: u32 length, u64 id, u64 handle, i32 max_rows, u32 format length. */
const REQUEST_HEAD = 4 + 8 + 8 + 4 + 4
/** The bytes of an answer's head after its length: u64 id, i32 status. */
const ANSWER_HEAD = 8 + 4

/** A channel: its socket, and the requests it has not answered yet. */
class Channel {
  #socket
  #pending = new Map() // request id -> {resolve, reject}
  #nextId = 1
  #corked = false // requests are being gathered for one write, at the next setImmediate
  #partial = [] // the chunks of an answer not complete yet
  #partialBytes = 0
  #onClosed

  /** Over the socket fd (the library's), calling onClosed once the socket closed. */
  constructor (fd, onClosed) {
    this.#onClosed = onClosed
    this.#socket = new net.Socket({ fd, readable: true, writable: true })
    this.#socket.unref() // referenced while answers are pending, as a call in flight is
    this.#socket.on('data', (chunk) => this.#receive(chunk))
    this.#socket.on('error', () => {}) // 'close' follows and reports it
    this.#socket.on('close', () => this.#closed())
  }

  /**
   * Runs lakelink_query_pipeline's request (handle a connection's) or
   * lakelink_pool_pipeline's (handle a pool's, userToken its App user's,
   * or null) over the channel: resolves with the answers (an ArrayBuffer
   * of their own, so that their batches are aligned), or rejects with the
   * library's error.
   */
  pipeline (handle, userToken, statements, maxRows, format) {
    const id = this.#nextId++
    const f = Buffer.from(format)
    const token = Buffer.from(userToken ?? '')
    const head = Buffer.allocUnsafe(REQUEST_HEAD + f.length + 4 + token.length)
    head.writeUInt32LE(head.length - 4 + statements.length, 0)
    head.writeBigUInt64LE(BigInt(id), 4)
    head.writeBigUInt64LE(BigInt(handle), 12)
    head.writeInt32LE(maxRows, 20)
    head.writeUInt32LE(f.length, 24)
    f.copy(head, REQUEST_HEAD)
    head.writeUInt32LE(token.length, REQUEST_HEAD + f.length)
    token.copy(head, REQUEST_HEAD + f.length + 4)
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      if (this.#pending.size === 1) this.#socket.ref()
      if (!this.#corked) {
        this.#corked = true
        this.#socket.cork()
        setImmediate(() => {
          this.#corked = false
          this.#socket.uncork()
        })
      }
      this.#socket.write(head)
      this.#socket.write(statements)
    })
  }

  /** Takes the answers chunk completes, keeping the start of one not complete. */
  #receive (chunk) {
    let buf = chunk
    if (this.#partial.length) {
      this.#partial.push(chunk)
      this.#partialBytes += chunk.length
      const first = this.#partial[0]
      if (first.length >= 4 && this.#partialBytes < 4 + first.readUInt32LE(0)) return // joined once it is all here
      buf = Buffer.concat(this.#partial, this.#partialBytes)
      this.#partial = []
      this.#partialBytes = 0
    }
    let at = 0
    while (buf.length - at >= 4) {
      const n = buf.readUInt32LE(at)
      if (buf.length - at - 4 < n) break
      this.#answer(buf, at + 4, n)
      at += 4 + n
    }
    if (at < buf.length) {
      this.#partial.push(buf.subarray(at))
      this.#partialBytes = buf.length - at
    }
    if (this.#pending.size === 0) this.#socket.unref()
  }

  /** Settles the request of the answer of n bytes at buf[start]. */
  #answer (buf, start, n) {
    const id = Number(buf.readBigUInt64LE(start))
    const p = this.#pending.get(id)
    if (!p) return // a request that did not frame (none of this binding's)
    this.#pending.delete(id)
    const status = buf.readInt32LE(start + 8)
    const from = buf.byteOffset + start + ANSWER_HEAD
    const to = buf.byteOffset + start + n
    if (status === 0) {
      p.resolve(buf.buffer.slice(from, to))
      return
    }
    p.reject(errors.fromFailureJSON(Buffer.from(buf.buffer, from, to - from).toString(), status))
  }

  /** The socket closed (the library does not close it: a bug): what is pending fails, and the next pipeline opens a channel anew. */
  #closed () {
    this.#onClosed()
    const e = new errors.InternalError('lakelink: the pipeline channel closed with pipelines unanswered')
    for (const p of this.#pending.values()) p.reject(e)
    this.#pending.clear()
  }
}

let channel = null

/**
 * Runs a pipeline (lakelink_query_pipeline's arguments, or
 * lakelink_pool_pipeline's: statements, a buffer of them, on connection or
 * pool handle handle, for the App user whose token userToken is) over the
 * process's channel, opened on first use; resolves with its answers as an
 * ArrayBuffer.
 */
function pipeline (handle, userToken, statements, maxRows, format) {
  if (!channel) {
    const fd = [-1]
    const err = [null]
    native.check(native.lib().pipeline_channel_open(fd, err), err)
    const opened = new Channel(fd[0], () => { if (channel === opened) channel = null })
    channel = opened
  }
  return channel.pipeline(handle, userToken, statements, maxRows, format)
}

module.exports = { pipeline }

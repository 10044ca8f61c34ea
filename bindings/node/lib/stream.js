'use strict'
// stream(): a statement's rows as an async iterator, read a batch at a
// time on one session held until the rows end.

const { start, cancel, nameAbort } = require('./session')
const { withBytes } = require('./native')

/** Rows per batch for stream(), unless its batchSize option says otherwise. */
const STREAM_BATCH_ROWS = 1000

/**
 * The rows of statement st as an async iterator, read a batch of
 * st.batchSize rows at a time: next() resolves at once within a batch (no
 * generator machinery per row). hold() resolves with {handle, release()}:
 * the session, held until the rows end, an error, or the loop is left.
 * When st.signal aborts, the statement is cancelled on the server as in
 * runAbortable (lib/session.js), and next() rejects: with the server's
 * error named AbortError (code '57014'), or with the signal's reason when
 * the statement was not running.
 */
class RowStream {
  #hold
  #st
  #opts
  #signal
  #held = null
  #started = null
  #rows = []
  #i = 0
  #finished = false
  #refilling = null // the refill under way, which return() lets end first
  #cancelling = null // the cancel request sent when the signal aborted
  #onAbort = () => { this.#cancelling = cancel(this.#held.handle).catch(() => {}) }

  constructor (hold, st, opts) {
    this.#hold = hold
    this.#st = st
    this.#opts = opts
    this.#signal = st.signal
  }

  [Symbol.asyncIterator] () {
    return this
  }

  next () {
    if (this.#i < this.#rows.length && !this.#signal?.aborted) return Promise.resolve({ value: this.#rows[this.#i++], done: false })
    this.#refilling = this.#refill()
    return this.#refilling
  }

  async #refill () {
    try {
      for (;;) {
        if (this.#finished) return { value: undefined, done: true }
        this.#signal?.throwIfAborted()
        if (!this.#started) {
          this.#held = await this.#hold()
          this.#signal?.throwIfAborted()
          this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
          this.#started = await start(this.#held.handle, this.#st, this.#opts, this.#st.batchSize || STREAM_BATCH_ROWS)
          this.#rows = this.#started.rows
        } else {
          const b = this.#started.rest && await this.#started.rest.take()
          if (!b) {
            await this.#finish(true)
            continue
          }
          this.#rows = withBytes(b.ptr, b.len, this.#started.decode)
        }
        this.#i = 0
        if (this.#rows.length) return { value: this.#rows[this.#i++], done: false }
      }
    } catch (e) {
      nameAbort(e, this.#cancelling, this.#signal)
      await this.#finish(false)
      throw e
    }
  }

  /** Closes the result (when open) and lets the session go, once a cancel request was answered. */
  async #finish (complete) {
    if (this.#finished) return
    this.#finished = true
    this.#rows = []
    this.#signal?.removeEventListener('abort', this.#onAbort)
    try {
      if (this.#started?.rest) await this.#started.rest.close(complete)
    } finally {
      await this.#cancelling
      await this.#held?.release() // a pool's session is back when the loop ends
    }
  }

  async return () {
    await this.#refilling?.catch(() => {})
    await this.#finish(false)
    return { value: undefined, done: true }
  }

  async throw (e) {
    await this.return()
    throw e
  }
}

module.exports = { RowStream }

'use strict'
// copyFrom() and copyTo(): COPY FROM STDIN as a Writable and COPY TO STDOUT
// as a Readable, used as pg-copy-streams' streams are (write or pipe into
// one, then 'finish'; read or pipe from the other, then 'end'), on one
// session held until the COPY ends (lakelink.h, "Bulk: executemany and
// COPY").

const { Readable, Writable } = require('node:stream')
const { lib, callDirect, check, withBytes, cstr } = require('./native')

/** Starts sql with start (lib().copy_from or copy_to) on the held session: {h, copy, release}. */
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

/**
 * COPY ... FROM STDIN as a Writable: what is written (Buffers or strings,
 * in the COPY's format) goes to the server; 'finish' comes once the server
 * took it all, rowCount then set. destroy(err), or an error, aborts the
 * COPY (the server rolls it back).
 */
class CopyFromStream extends Writable {
  #hold
  #sql
  #c = null
  /** The rows copied, once finished. */
  rowCount = null

  constructor (hold, sql) {
    super({ highWaterMark: 1024 * 1024 }) // chunks gather while one crosses: fewer, larger crossings
    this.#hold = hold
    this.#sql = cstr(sql, 'the COPY statement')
  }

  _construct (callback) {
    begin(this.#hold, lib().copy_from, this.#sql).then((c) => { this.#c = c; callback() }, callback)
  }

  _writev (chunks, callback) {
    const data = chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk))
    const err = [null]
    callDirect(this.#c.h, lib().copy_write, this.#c.copy, data, data.length, err)
      .then((rc) => { check(rc, err); callback() }, callback)
      .catch(callback)
  }

  _final (callback) {
    const c = this.#c
    this.#c = null
    finish(c, null).then((n) => { this.rowCount = n; callback() }, callback)
  }

  _destroy (error, callback) {
    const c = this.#c
    this.#c = null
    if (!c) return callback(error)
    finish(c, error ? `error from Node: ${error.message || error}` : 'the COPY stream was destroyed')
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

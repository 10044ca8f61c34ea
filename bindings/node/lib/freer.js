'use strict'
// Freeing the memory the library returned, on a thread of its own.
//
// A call into the Go library costs 0.2 to 1 ms on the main thread (koffi
// runs C on a stack of its own, so Go re-reads the calling thread's stack
// bounds, which on the main thread means parsing /proc/self/maps), a
// threadpool round trip and ~10 µs of the event loop's time through
// koffi's .async, and ~1 µs on any other thread. So the main thread puts
// the addresses to free in a ring in shared memory, and a worker thread
// (this file) frees them with plain calls, sleeping in Atomics.wait while
// there is nothing to free. Nothing on the main thread waits for a free.
// (lakelink_error_free, for the rare error, goes through the threadpool:
// lib/native.js errorFree.)
//
// Should the worker die, the addresses it had not freed yet, and those
// pushed before its death was known, go to the fallback startFreer was
// given, as every later one does.

const { Worker, workerData } = require('node:worker_threads')

const SIZE = 4096 // addresses the ring holds: a power of 2
const HEAD = 0 // the count of addresses pushed (written by the main thread)
const TAIL = 1 // the count of addresses freed (written by the worker)
const SLEEPING = 2 // 1 while the worker waits for addresses
const DEAD = 3 // 1 once the worker failed: push refuses
const PAUSE_MS = 2 // how long the worker lets addresses gather while they keep coming

/** The ring of addresses to free, over a SharedArrayBuffer both threads see. */
class FreeRing {
  constructor (sab = new SharedArrayBuffer(16 + 8 * SIZE)) {
    this.sab = sab
    this.ctl = new Int32Array(sab, 0, 4)
    this.slots = new BigUint64Array(sab, 16, SIZE)
  }

  /** Queues address (a BigInt) for the worker; false when the ring is full or the worker is gone. */
  push (address) {
    const { ctl } = this
    const head = ctl[HEAD]
    if (ctl[DEAD] || ((head - Atomics.load(ctl, TAIL)) | 0) >= SIZE) return false
    this.slots[head & (SIZE - 1)] = address
    Atomics.store(ctl, HEAD, (head + 1) | 0)
    if (Atomics.load(ctl, SLEEPING)) Atomics.notify(ctl, HEAD, 1)
    return true
  }
}

/**
 * Starts the worker that frees, with libraryFile's lakelink_free, what is
 * pushed on the ring it returns; null when no worker can start. When the
 * worker dies, push refuses from then on (the caller frees otherwise), and
 * fallback(address) frees what the ring still held. The worker does not
 * keep the process alive.
 */
function startFreer (libraryFile, fallback) {
  const ring = new FreeRing()
  const dead = () => {
    const { ctl, slots } = ring
    if (Atomics.exchange(ctl, DEAD, 1)) return
    for (let tail = Atomics.load(ctl, TAIL); tail !== ctl[HEAD]; tail = (tail + 1) | 0) fallback(slots[tail & (SIZE - 1)])
  }
  try {
    const worker = new Worker(__filename, { workerData: { lakelinkFreer: true, file: libraryFile, sab: ring.sab } })
    worker.on('error', dead)
    worker.on('exit', dead)
    worker.unref()
  } catch {
    return null
  }
  return ring
}

/**
 * The worker's loop: frees every address pushed, in order, counting each
 * in TAIL. While addresses keep coming it wakes every PAUSE_MS to free them
 * in a batch, which costs the pushing thread nothing; once a pause brought
 * none it sleeps until push wakes it.
 */
function drain ({ file, sab }) {
  const free = require('koffi').load(file).func('void lakelink_free(void *p)')
  const { ctl, slots } = new FreeRing(sab)
  for (let tail = ctl[TAIL]; ;) {
    const head = Atomics.load(ctl, HEAD)
    if (tail === head) {
      Atomics.store(ctl, SLEEPING, 1)
      Atomics.wait(ctl, HEAD, head) // returns at once when an address came since head was read
      Atomics.store(ctl, SLEEPING, 0)
      continue
    }
    for (; tail !== head; tail = (tail + 1) | 0) {
      free(slots[tail & (SIZE - 1)])
      Atomics.store(ctl, TAIL, (tail + 1) | 0) // at once: were the worker to die, TAIL says what is left to free
    }
    Atomics.wait(ctl, HEAD, head, PAUSE_MS)
  }
}

if (workerData?.lakelinkFreer) drain(workerData)

module.exports = { startFreer }

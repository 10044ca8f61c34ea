'use strict'
// Calling the library from threads of lakelink's own, for the calls that
// statements are made of.
//
// koffi's .async runs a call on a libuv threadpool thread: the pool thread
// sleeps until the call is queued, wakes up, calls, and queues the
// completion back to the event loop, and libuv hands successive jobs to
// successive threads of its 64, each cold. Around a statement that takes
// 50 µs in the library, that is as much again. So lakelink keeps a few
// caller threads (worker threads, started once the process has made a
// few calls: CALLS_BEFORE_CALLERS) that call the library directly: the
// main thread writes the call into memory it shares with one that is
// idle, the caller, which keeps looking for its next call for SPIN_MS
// after each one before it sleeps in Atomics.wait, takes it at once, and
// the main thread awaits the answer with Atomics.waitAsync. When every
// caller is busy, or the arguments do not fit in ARGUMENT_BYTES, the call
// goes to the threadpool as before.
//
// When the process exits, Node stops its worker threads and waits for them
// (and for the threadpool's calls): a call running then holds the exit up
// until it returns, and koffi, stopped while a caller loads the library,
// aborts the process ("FATAL ERROR: Error::ThrowAsJavaScriptException
// napi_throw"). So at exit lib/native.js ends the calls in flight (cancels
// statements; closes core pools, which ends the acquires waiting for a
// session), and settle() waits until every caller has loaded the library
// and made the call it took.

const os = require('node:os')
const { Worker, workerData } = require('node:worker_threads')
const { PROTOTYPES, paramKinds } = require('./abi')
const { InternalError } = require('./errors')

/**
 * The most caller threads: a few statements at once go this way, more go
 * to the threadpool. No more than the CPUs, up to 4: each caller spins
 * after its call, and more spinning threads than CPUs take the time the
 * main thread and the server need (two CPUs, 10,000 queries 100 at a
 * time on 10 sessions: 4 callers 0.44 s, 2 callers 0.37 s; no workload
 * of bench/ was slower with 2).
 */
const MAX_CALLERS = Math.max(1, Math.min(4, os.availableParallelism()))
/**
 * The calls made on the threadpool before callers start. A caller costs
 * about 40 ms of CPU to start (a Node worker's bootstrap, on another
 * thread) and 10 MB of memory, which a few calls do not repay: started by
 * a script's first query, callers took that CPU from the server during a
 * COPY that followed (1M rows: 94 ms of the client's 437). Then one
 * starts when the calls come one at a time (a Client's), all of them when
 * calls run at once, and the rest once a call finds every caller busy:
 * started one at a time as calls found the others busy, the second
 * started within the first burst of a pool's queries, whose CPU it took
 * (10,000 queries 100 at a time: 0.39 s, against 0.36 s with both
 * started during the pool's first queries).
 */
const CALLS_BEFORE_CALLERS = 16
/** Bytes of string and byte arguments a call may carry. */
const ARGUMENT_BYTES = 256 * 1024
/** How long a caller keeps looking for its next call before it sleeps: a statement's gap between round trips. */
const SPIN_MS = 0.1
const MAX_PARAMS = 16

// ctl's slots
const STATE = 0 // IDLE, CALL (written by the main thread), TAKEN, DONE or FAILED (by the caller)
const SLEEPING = 1 // 1 while the caller waits in Atomics.wait
const FN = 2 // the index of the function in PROTOTYPES
const RC = 3 // the status it returned
const MESSAGE_LEN = 4 // FAILED: the length of the message in the argument bytes
const READY = 5 // 1 once the caller loaded the library
const IDLE = 0
const CALL = 1
const TAKEN = 2
const DONE = 3
const FAILED = 4

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** A 64-bit slot's value as koffi gives integers: a number when exact, else a BigInt. */
function integerOf (v) {
  return v >= -SAFE && v <= SAFE ? Number(v) : v
}

/** The memory a caller and the main thread share: control slots, one 64-bit slot and one span per parameter, argument bytes. */
class Channel {
  constructor (sab = new SharedArrayBuffer(32 + 16 * MAX_PARAMS + ARGUMENT_BYTES)) {
    this.sab = sab
    this.ctl = new Int32Array(sab, 0, 8)
    this.slots = new BigInt64Array(sab, 32, MAX_PARAMS) // integers, pointers, and the spans' offsets and lengths
    this.spans = new Int32Array(sab, 32 + 8 * MAX_PARAMS, 2 * MAX_PARAMS)
    this.bytes = new Uint8Array(sab, 32 + 16 * MAX_PARAMS)
  }
}

const encoder = new TextEncoder()

/** A thread that calls the library for the main thread. */
class Caller {
  constructor (file, onDeath) {
    this.ch = new Channel()
    this.busy = false
    this.dead = false
    this.worker = new Worker(__filename, { workerData: { lakelinkCaller: true, file, sab: this.ch.sab } })
    this.worker.unref()
    const die = () => {
      if (this.dead) return
      this.dead = true
      onDeath(this)
      const { ctl } = this.ch
      // A call in flight fails; one not taken yet fails too (a caller dies
      // only by a bug or the process's end).
      for (const from of [CALL, TAKEN]) {
        if (Atomics.compareExchange(ctl, STATE, from, FAILED) === from) {
          ctl[MESSAGE_LEN] = -1
          Atomics.notify(ctl, STATE)
        }
      }
    }
    this.worker.on('error', die)
    this.worker.on('exit', die)
  }

  /**
   * Writes the call of PROTOTYPES[index] with args into the channel and
   * returns true, or false when its string and byte arguments do not fit.
   */
  put (index, kinds, args) {
    const { ctl, slots, spans, bytes } = this.ch
    let at = 0
    for (let i = 0; i < kinds.length; i++) {
      const a = args[i]
      switch (kinds[i]) {
        case 'string':
        case 'bytes':
          if (a === null || a === undefined) {
            spans[2 * i] = -1
            break
          }
          if (typeof a === 'string') {
            const r = encoder.encodeInto(a, bytes.subarray(at))
            if (r.read !== a.length) return false
            spans[2 * i] = at
            spans[2 * i + 1] = r.written
            at += r.written
          } else {
            if (at + a.length > bytes.length) return false
            bytes.set(a, at)
            spans[2 * i] = at
            spans[2 * i + 1] = a.length
            at += a.length
          }
          break
        case 'int':
        case 'uint': // as koffi takes them: numbers truncated, BigInts as they are; koffi reports anything else
          if (typeof a === 'number' && Number.isFinite(a)) slots[i] = BigInt.asIntN(64, BigInt(Math.trunc(a)))
          else if (typeof a === 'bigint') slots[i] = BigInt.asIntN(64, a)
          else return false
          break
      }
    }
    ctl[FN] = index
    return true
  }

  /** Runs the call put(), resolving with its status once the caller answered; the out arrays in args are filled. */
  async run (kinds, args) {
    const { ch, worker } = this
    const { ctl } = ch
    worker.ref() // a call in flight keeps the process alive, as a threadpool call does
    Atomics.store(ctl, STATE, CALL)
    if (Atomics.load(ctl, SLEEPING)) Atomics.notify(ctl, STATE, 1)
    try {
      for (let s; (s = Atomics.load(ctl, STATE)) === CALL || s === TAKEN;) {
        const w = Atomics.waitAsync(ctl, STATE, s)
        if (w.async) await w.value
      }
      if (Atomics.load(ctl, STATE) === FAILED) {
        const n = ctl[MESSAGE_LEN]
        throw new InternalError(n < 0 ? 'lakelink: a caller thread stopped during a call' : Buffer.from(ch.bytes.subarray(0, n)).toString())
      }
      for (let i = 0; i < kinds.length; i++) {
        if (kinds[i] === 'out') args[i][0] = ch.slots[i] === 0n ? null : BigInt.asUintN(64, ch.slots[i])
        else if (kinds[i] === 'outint') args[i][0] = integerOf(ch.slots[i])
        else if (kinds[i] === 'outuint') args[i][0] = integerOf(BigInt.asUintN(64, ch.slots[i]))
      }
      return ctl[RC]
    } finally {
      if (!this.dead) {
        Atomics.store(ctl, STATE, IDLE)
        worker.unref()
      }
    }
  }
}

/** How long settle() waits, at most, for callers to leave the library. */
const SETTLE_MS = 10000

/** The callers of the library loaded from file, started as needed. */
class Callers {
  constructor (file) {
    this.file = file
    this.all = []
    this.started = 0 // callers started, dead ones included: a library that fails in one fails in all
    this.calls = 0 // calls asked for
    this.inFlight = 0 // calls running, on callers or (track) on the threadpool
    this.kinds = PROTOTYPES.map(paramKinds)
  }

  /**
   * Calls PROTOTYPES[index] with args on an idle caller thread, resolving
   * with its status (the out arrays in args filled). Returns null when no
   * caller can take the call: the caller uses the threadpool instead.
   */
  call (index, args) {
    this.calls++
    const c = this.idle()
    if (!c) return null
    const kinds = this.kinds[index]
    if (!c.put(index, kinds, args)) return null
    c.busy = true
    this.inFlight++
    return c.run(kinds, args).finally(() => {
      c.busy = false
      this.inFlight--
    })
  }

  /** Counts promise, a call that went to the threadpool instead, as running until it settles; returns it. */
  track (promise) {
    this.inFlight++
    return promise.finally(() => { this.inFlight-- })
  }

  idle () {
    let loading = false
    for (const c of this.all) {
      if (c.busy) continue
      if (Atomics.load(c.ch.ctl, READY)) return c
      loading = true
    }
    if (this.calls >= CALLS_BEFORE_CALLERS && !loading) this.start(this.started === 0 && this.inFlight === 0 ? 1 : MAX_CALLERS)
    return null // this call goes to the threadpool: the callers are busy, or still loading the library
  }

  /** Starts callers up to upTo in all (see CALLS_BEFORE_CALLERS). */
  start (upTo) {
    try {
      while (this.started < upTo) {
        this.started++
        this.all.push(new Caller(this.file, (dead) => { this.all = this.all.filter((c) => c !== dead) }))
      }
    } catch {}
  }

  /**
   * For the process's exit (Node stops the callers next): withdraws the
   * calls not taken yet, and waits, blocking, up to SETTLE_MS in all,
   * until every caller has loaded the library and made the call it took.
   */
  settle () {
    const deadline = performance.now() + SETTLE_MS
    for (const c of this.all) {
      const { ctl } = c.ch
      Atomics.compareExchange(ctl, STATE, CALL, FAILED)
      for (let left; (left = deadline - performance.now()) > 0;) {
        if (Atomics.load(ctl, READY) === 0) Atomics.wait(ctl, READY, 0, left)
        else if (Atomics.load(ctl, STATE) === TAKEN) Atomics.wait(ctl, STATE, TAKEN, left)
        else break
      }
    }
  }
}

/** A caller thread's loop: takes each call from the main thread, makes it, and answers. */
function serve ({ file, sab }) {
  const handle = require('koffi').load(file)
  const kinds = PROTOTYPES.map(paramKinds)
  const fns = PROTOTYPES.map((p, i) => kinds[i] && handle.func(p))
  const ch = new Channel(sab)
  const { ctl, slots, spans } = ch
  Atomics.store(ctl, READY, 1)
  Atomics.notify(ctl, READY)
  for (;;) {
    if (Atomics.load(ctl, STATE) !== CALL) {
      const until = performance.now() + SPIN_MS
      while (Atomics.load(ctl, STATE) !== CALL && performance.now() < until);
      Atomics.store(ctl, SLEEPING, 1)
      for (let s; (s = Atomics.load(ctl, STATE)) !== CALL;) Atomics.wait(ctl, STATE, s)
      Atomics.store(ctl, SLEEPING, 0)
    }
    if (Atomics.compareExchange(ctl, STATE, CALL, TAKEN) !== CALL) continue // withdrawn: the process is leaving
    const index = ctl[FN]
    const k = kinds[index]
    const args = new Array(k.length)
    for (let i = 0; i < k.length; i++) {
      const at = spans[2 * i]
      switch (k[i]) {
        case 'string': args[i] = at < 0 ? null : Buffer.from(sab, ch.bytes.byteOffset + at, spans[2 * i + 1]).toString(); break
        case 'bytes': args[i] = at < 0 ? null : new Uint8Array(sab, ch.bytes.byteOffset + at, spans[2 * i + 1]); break
        case 'int': args[i] = integerOf(slots[i]); break
        case 'uint': args[i] = BigInt.asUintN(64, slots[i]); break
        default: args[i] = [null]
      }
    }
    let state = DONE
    try {
      ctl[RC] = fns[index](...args)
      for (let i = 0; i < k.length; i++) {
        if (k[i].startsWith('out')) slots[i] = BigInt.asIntN(64, BigInt(args[i][0] ?? 0))
      }
    } catch (e) {
      const r = encoder.encodeInto(String(e?.message ?? e), ch.bytes)
      ctl[MESSAGE_LEN] = r.written
      state = FAILED
    }
    Atomics.store(ctl, STATE, state)
    Atomics.notify(ctl, STATE)
  }
}

if (workerData?.lakelinkCaller) serve(workerData)

module.exports = { Callers, MAX_CALLERS, CALLS_BEFORE_CALLERS }

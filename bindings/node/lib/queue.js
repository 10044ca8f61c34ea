'use strict'
// The statements of a Pool that the core runs in pipelines on sessions it
// lends (lakebase.Pool.Pipeline, through session.poolPipeline): no session
// is taken here, and none is given back. At most as many pipelines are in
// flight as the pool has sessions; the statements that come meanwhile
// wait here, and as each pipeline is answered the next takes a share of
// them (PIPELINE_SHARE): one round trip for many statements, as
// Postgres.js pipelines the queries waiting for a connection. Statements
// that are slow to run (SLOW_STATEMENT_MS) go one to a pipeline instead,
// since a pipeline runs its statements one after the other.

/**
 * The part of the statements waiting that the next pipeline takes: a
 * third. Measured (10,000 queries, 100 at a time, a pool of 10, two
 * cores): dividing them among all the pool's sessions made pipelines of
 * 5 and took 0.60 s; a half or a third, 0.44 to 0.49 s; all of them,
 * 0.84 s (the other sessions found none waiting). Over the pipeline
 * channel a half, a third and a fifth measured within the noise of each
 * other; an even part (a tenth, here) 15 % slower.
 */
const PIPELINE_SHARE = 3

/**
 * The time per statement of a pipeline that succeeded, ms, beyond which
 * the statements are taken to be slow, and go one to a pipeline, since a
 * pipeline runs its statements one after the other. The time includes the
 * pipeline's own round trip (hundreds of microseconds on a busy host) and
 * any wait for a session in the core. Measured on two busy CPUs, 100 at
 * a time on 10 sessions, one statement per pipeline against a third of
 * those waiting: 1,000 statements of 2 ms, 0.35 against 0.25–0.28 s; of
 * 4 ms, 0.55 against 0.47 s; 500 of 8 ms, 0.52 against 0.50 s; 300 of
 * 15 ms, 0.54 against 0.56 s; 200 of 30 ms, 0.67 against 0.99 s; 50 of
 * 0.2 s, 1.04 against 3.1 s. At 1 ms, pipelines of one fast statement
 * on the busy host counted as slow and kept the pool at one statement per
 * pipeline: of 10,000 queries, 330–540 pipelines of one (80–100 at 5 ms),
 * and 0.325 against 0.30 s.
 */
const SLOW_STATEMENT_MS = 5

/** A pool's statements waiting for a pipeline, and its pipelines in flight. */
class StatementQueue {
  #run // (statements) => a promise of their outcomes, one per statement: {result} or {error}
  #limit // () => the most pipelines in flight
  #freed // () => void: called when a pipeline's place is free again
  #waiting = [] // {st, resolve, reject, arrival}
  #arrivals = 0 // the number of the last statement queued
  #inFlight = 0
  #slow = false // the last pipeline answered took more than SLOW_STATEMENT_MS per statement

  /**
   * Over run, which runs a pipeline (called before the pipeline counts in
   * flight), limit, the most in flight at once, and freed, told when one
   * no longer is.
   */
  constructor (run, limit, freed) {
    this.#run = run
    this.#limit = limit
    this.#freed = freed
  }

  /** The pipelines in flight: each holds at most one session of the pool. */
  get inFlight () {
    return this.#inFlight
  }

  /** How many statements wait for a pipeline. */
  get waiting () {
    return this.#waiting.length
  }

  /** Runs statement st in a pipeline: resolves with its outcome, {result} or {error}; rejects when its pipeline ran none. */
  push (st) {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ st, resolve, reject, arrival: ++this.#arrivals })
      this.#send()
    })
  }

  /** Rejects the statements waiting with error (the pool ended); those in flight run on. */
  refuse (error) {
    for (const w of this.#waiting.splice(0)) w.reject(error)
  }

  /** Sends pipelines while statements wait and fewer than the limit are in flight. */
  #send () {
    while (this.#waiting.length && this.#inFlight < this.#limit()) {
      const ws = this.#waiting.splice(0, this.#slow ? 1 : Math.ceil(this.#waiting.length / PIPELINE_SHARE))
      const sentAfter = this.#arrivals // the statements that came before this pipeline left
      const t0 = performance.now()
      const running = this.#run(ws.map((w) => w.st))
      this.#inFlight++
      running.then((outcomes) => {
        this.#slow = (performance.now() - t0) / ws.length > SLOW_STATEMENT_MS
        ws.forEach((w, i) => w.resolve(outcomes[i]))
      }, (e) => {
        // None ran (no session within PoolTimeout, a refused login, the
        // pool closed): those waiting since before it left, at the head
        // of the queue, would meet the same.
        const after = this.#waiting.findIndex((x) => x.arrival > sentAfter)
        for (const w of [...ws, ...this.#waiting.splice(0, after < 0 ? this.#waiting.length : after)]) w.reject(e)
      }).finally(() => {
        // After the statements' callers ran on: their next statements wait here then, for this pipeline's share.
        setImmediate(() => {
          this.#inFlight--
          this.#freed()
          this.#send()
        })
      })
    }
  }
}

module.exports = { StatementQueue }

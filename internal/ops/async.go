package ops

// Asynchronous calls: an operation started on a goroutine, whose
// completion a Queue signals through a file descriptor the caller's event
// loop watches (lakelink.h, "Asynchronous calls").

import (
	"sync"
	"sync/atomic"
	"time"
)

// Call is one operation running in the background: its answer, once
// done.
type Call struct {
	done  chan struct{}
	value any
	err   error
	// state tells a completion whether a caller waits for it in WaitFor
	// (then it is not queued: that caller collects it).
	state atomic.Int32
}

// Call states (Call.state).
const (
	callRunning     int32 = iota
	callWatched           // a caller is in WaitFor
	callDoneWatched       // completed while watched: not queued
)

// Wait waits for the call to complete and returns its answer.
func (c *Call) Wait() (any, error) {
	<-c.done
	return c.value, c.err
}

// Queue collects the completed calls started on it and signals them
// through a file descriptor, readable while completions are waiting to be
// taken: one write per batch of completions, however many calls complete
// before the caller takes them.
type Queue struct {
	sig       signal
	mu        sync.Mutex
	done      []uint64 // ids of completed calls, not yet taken
	signalled bool     // the descriptor is readable (a byte is in the pipe)
	closed    bool

	state atomic.Int32         // the spinner's: noSpinner, spinnerIdle, spinnerClaimed
	slot  atomic.Pointer[task] // a task handed to the spinner
}

// NewQueue makes a queue with its file descriptor.
func NewQueue() (*Queue, error) {
	s, err := newSignal()
	if err != nil {
		return nil, &Error{Failure{Code: Internal, Message: "lakelink: cannot make a completion queue's descriptor: " + err.Error()}, err}
	}
	return &Queue{sig: s}, nil
}

// FD is the descriptor the caller watches for readability.
func (q *Queue) FD() int { return q.sig.fd() }

// NewCall is a call not yet started.
func NewCall() *Call { return &Call{done: make(chan struct{})} }

// Start runs op as c on a goroutine and, once it returned, queues id (the
// caller's name for c). A panic in op is its error, as the exports' own
// (a bug).
//
// A goroutine that finished a call stays for spinFor, looking for the next
// one (see spinner): a caller that starts calls one after another (a loop
// of short statements) hands each to it without waking a thread, which on
// a busy machine costs more than the statement.
func (q *Queue) Start(id uint64, c *Call, op func() (any, error)) {
	t := &task{id, c, op}
	if q.state.CompareAndSwap(spinnerIdle, spinnerClaimed) {
		q.slot.Store(t)
		return
	}
	go q.run(t)
}

// task is a started call.
type task struct {
	id uint64
	c  *Call
	op func() (any, error)
}

// The states of a queue's spinner.
const (
	noSpinner      int32 = iota
	spinnerIdle          // a goroutine looks for the next task
	spinnerClaimed       // a task is (being) put in slot for it
)

// spinFor is how long a goroutine that finished a call looks for the next.
const spinFor = 200 * time.Microsecond

// run runs t, then becomes the queue's spinner if it has none.
func (q *Queue) run(t *task) {
	q.do(t)
	if q.state.CompareAndSwap(noSpinner, spinnerIdle) {
		q.spin()
	}
}

// spin takes the tasks Start hands over until none came for spinFor.
func (q *Queue) spin() {
	until := time.Now().Add(spinFor)
	for {
		switch q.state.Load() {
		case spinnerClaimed:
			t := q.slot.Swap(nil)
			if t == nil { // Start is storing it
				yield()
				continue
			}
			q.do(t)
			q.state.Store(spinnerIdle)
			until = time.Now().Add(spinFor)
		case spinnerIdle:
			if time.Now().After(until) && q.state.CompareAndSwap(spinnerIdle, noSpinner) {
				return
			}
			yield()
		}
	}
}

// do runs t's operation and queues its completion.
func (q *Queue) do(t *task) {
	c := t.c
	defer func() {
		if r := recover(); r != nil {
			c.value, c.err = nil, Panicked(r)
		}
		close(c.done)
		if !c.state.CompareAndSwap(callWatched, callDoneWatched) {
			q.complete(t.id)
		}
	}()
	c.value, c.err = t.op()
}

func (q *Queue) complete(id uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.done = append(q.done, id)
	if !q.signalled {
		q.signalled = true
		q.sig.raise()
	}
}

// Take returns up to max ids of completed calls, oldest first. Once none
// is left the descriptor is no longer readable.
func (q *Queue) Take(max int) []uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.done))
	ids := append([]uint64(nil), q.done[:n]...)
	q.done = append(q.done[:0], q.done[n:]...)
	if len(q.done) == 0 && q.signalled {
		q.signalled = false
		q.sig.clear()
	}
	return ids
}

// Close closes the descriptor; calls still running complete unseen.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.done = nil
	return q.sig.close()
}

// waitSpin is how long WaitFor looks for the call's completion on the
// calling thread, yielding the CPU between looks, before it sleeps until the
// completion or its time is up: a short statement's round trip on a quiet
// machine completes within it, without a wake-up; on a busy machine,
// looking longer took the CPU that the server and the call's own thread
// needed (bench/RESULTS.md, asyncio).
const waitSpin = 100 * time.Microsecond

// WaitFor waits for the call to complete for at most d, on the calling
// thread: it looks for up to waitSpin (yielding the CPU between looks),
// then sleeps: the caller's event loop skips a wake-up when the answer comes
// that soon. It reports whether the call completed; a call that completes
// while it waits is not queued (the caller collects it now), one that
// completed before may have been.
func (c *Call) WaitFor(d time.Duration) bool {
	if !c.state.CompareAndSwap(callRunning, callWatched) {
		return c.state.Load() == callDoneWatched // another caller waits (or waited) for it
	}
	start := time.Now()
	for spin := min(d, waitSpin); time.Since(start) < spin; yield() {
		select {
		case <-c.done:
			return true
		default:
		}
	}
	if rest := d - time.Since(start); rest > 0 {
		t := time.NewTimer(rest)
		defer t.Stop()
		select {
		case <-c.done:
			return true
		case <-t.C:
		}
	}
	// Completed meanwhile (and not queued): collect it; else the queue will tell.
	return !c.state.CompareAndSwap(callWatched, callRunning)
}

package ops

// Asynchronous calls: an operation started on a goroutine, whose
// completion a Queue signals through a file descriptor the caller's event
// loop watches (lakelink.h, "Asynchronous calls").

import (
	"fmt"
	"sync"
)

// Call is one operation running in the background: its answer, once
// done.
type Call struct {
	done  chan struct{}
	value any
	err   error
}

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
func (q *Queue) Start(id uint64, c *Call, op func() (any, error)) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				c.value, c.err = nil, &Error{Failure{Code: Internal,
					Message: fmt.Sprintf("lakelink internal error (a bug; please report it): %v", r)}, nil}
			}
			close(c.done)
			q.complete(id)
		}()
		c.value, c.err = op()
	}()
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

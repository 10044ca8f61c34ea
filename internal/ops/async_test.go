//go:build unix

package ops

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readable reports whether fd is readable within d.
func readable(t *testing.T, fd int, d time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(d.Milliseconds()))
	if err != nil && err != unix.EINTR {
		t.Fatal(err)
	}
	return n > 0
}

// TestQueueSignalsCompletions: the descriptor is readable while completed
// calls wait, whatever their number, and not once they are taken; answers
// and errors (a panic included) are the calls' own.
func TestQueueSignalsCompletions(t *testing.T) {
	q, err := NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if readable(t, q.FD(), 10*time.Millisecond) {
		t.Fatal("readable before any call")
	}
	release := make(chan struct{})
	calls := map[uint64]*Call{}
	for id := uint64(1); id <= 50; id++ {
		c := NewCall()
		calls[id] = c
		q.Start(id, c, func() (any, error) {
			<-release
			switch id {
			case 7:
				return nil, errors.New("seven")
			case 9:
				panic("nine")
			}
			return id * 2, nil
		})
	}
	if readable(t, q.FD(), 10*time.Millisecond) {
		t.Fatal("readable before a call completed")
	}
	close(release)
	seen := map[uint64]bool{}
	for len(seen) < 50 {
		if !readable(t, q.FD(), 5*time.Second) {
			t.Fatalf("not readable with %d of 50 calls taken", len(seen))
		}
		for _, id := range q.Take(8) {
			seen[id] = true
		}
	}
	if readable(t, q.FD(), 10*time.Millisecond) {
		t.Fatal("still readable once every call was taken")
	}
	for id, c := range calls {
		v, err := c.Wait()
		switch id {
		case 7:
			if err == nil || err.Error() != "seven" {
				t.Errorf("call 7: %v", err)
			}
		case 9:
			if f := Of(err, OK); f.Code != Internal {
				t.Errorf("call 9 (a panic): %+v", f)
			}
		default:
			if v != id*2 || err != nil {
				t.Errorf("call %d: %v, %v", id, v, err)
			}
		}
	}
}

// TestQueueHandsCallsToItsSpinner: calls started one after another, each
// once the last completed, all complete (handed to the goroutine still
// looking for work, or to a new one), and WaitFor sees them.
func TestQueueHandsCallsToItsSpinner(t *testing.T) {
	q, err := NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for id := uint64(1); id <= 2000; id++ {
		c := NewCall()
		q.Start(id, c, func() (any, error) { return id, nil })
		if !c.WaitFor(time.Second) {
			t.Fatalf("call %d: not done in 1 s", id)
		}
		if v, _ := c.Wait(); v != id {
			t.Fatalf("call %d answered %v", id, v)
		}
		if id%100 == 0 {
			time.Sleep(time.Millisecond) // the spinner gives up: the next call starts a goroutine
		}
	}
	slow := NewCall()
	q.Start(0, slow, func() (any, error) { time.Sleep(50 * time.Millisecond); return nil, nil })
	if slow.WaitFor(time.Millisecond) {
		t.Fatal("a 50 ms call done within 1 ms")
	}
	if !slow.WaitFor(5 * time.Second) {
		t.Fatal("the slow call never completed")
	}
}

// TestWaitForSleepsAfterItsSpin: a call that completes once WaitFor stopped
// looking (after waitSpin) is seen by its sleep, and not queued; one that
// takes longer than d is given up after d, and queued.
func TestWaitForSleepsAfterItsSpin(t *testing.T) {
	q, err := NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	c := NewCall()
	q.Start(1, c, func() (any, error) { time.Sleep(5 * time.Millisecond); return 1, nil })
	if !c.WaitFor(5 * time.Second) {
		t.Fatal("a 5 ms call not done within 5 s")
	}
	if readable(t, q.FD(), 10*time.Millisecond) {
		t.Fatal("queued although WaitFor collected it")
	}
	slow := NewCall()
	q.Start(2, slow, func() (any, error) { time.Sleep(300 * time.Millisecond); return nil, nil })
	t0 := time.Now()
	if slow.WaitFor(20 * time.Millisecond) {
		t.Fatal("a 300 ms call done within 20 ms")
	}
	if d := time.Since(t0); d < 20*time.Millisecond || d > 250*time.Millisecond {
		t.Fatalf("WaitFor(20 ms) returned after %v", d)
	}
	if !readable(t, q.FD(), 5*time.Second) {
		t.Fatal("the slow call was not queued")
	}
	if ids := q.Take(8); len(ids) != 1 || ids[0] != 2 {
		t.Fatalf("took %v", ids)
	}
}

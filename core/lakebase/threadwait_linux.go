package lakebase

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spinFor bounds how long a read that finds nothing yet keeps retrying on
// its own thread before parking. It does not spin at all when the
// connection's last read waited longer than that (a server farther away,
// or a long statement), where spinning would only burn CPU. A short
// statement's answer from a server on the same host takes 30–300 µs,
// depending on how busy the host is, so 500 µs leaves room: 10,000 round
// trips from Node on two busy CPUs, 10 runs each, took 1.89 s spinning up
// to 50 µs, 1.67 s up to 500 µs (Postgres.js 1.61 s).
const spinFor = 500 * time.Microsecond

// waiting counts the reads waiting for the server's answer now (spinning
// or parked; not a stream's), in the whole process. A read spins only
// while at most maxSpinners (half the CPUs) wait: when more wait, the
// server answers them in turn, and a spinning thread would only take a
// CPU from the server (on the same host) and the program, and its P (a
// thread needs one to run Go code) from a thread calling into the
// library. A long statement on one session so makes the others' reads
// park at once while it runs (a wake-up each, not a CPU). 10,000
// queries from asyncio, 100 at a time on 10 sessions (two CPUs): 2.55 s
// against 2.74 s when one read spun while others were parked.
var (
	waiting     atomic.Int32
	maxSpinners = int32(max(1, runtime.NumCPU()/2))
)

// startWaiting counts a read as waiting (until it ends) and reports
// whether it may spin: no more than maxSpinners wait.
func startWaiting() bool { return waiting.Add(1) <= maxSpinners }

// waitOnThread wraps a connection so that its reads wait for the server on
// the calling thread (see threadWaitConn); a connection without a file
// descriptor is returned as it is.
func waitOnThread(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &threadWaitConn{Conn: c, raw: raw}
}

// threadWaitConn is a net.Conn whose Read, when nothing has arrived yet,
// retries on the calling thread for a while (see spinFor), yielding the
// CPU between tries, and only then parks in Go's network poller, which
// honours deadlines and Close.
//
// A goroutine that a foreign thread called into Go with (every call
// through the C ABI) is locked to that thread. Parking it puts the thread
// to sleep, and another thread must take the poller's news and wake it:
// two hand-offs, each a sleep and a wake-up (tens of microseconds on a
// virtual machine), where a short statement's answer from a nearby server
// arrives within the spin. A pure Go program does not need this: its idle
// threads spin in the scheduler already.
type threadWaitConn struct {
	net.Conn
	raw syscall.RawConn
	// streaming is set while the connection carries a stream the server
	// produces slower than it is read (a COPY TO): a read that finds
	// nothing then parks at once instead of spinning, which would take
	// the CPU the server needs.
	streaming atomic.Bool
	// lastWait is how long the last read that found nothing (and was not
	// streaming) waited for its data, in nanoseconds; 0 before any.
	lastWait atomic.Int64
}

// spinBudget is how long a read that finds nothing spins, unless streaming.
func (c *threadWaitConn) spinBudget() time.Duration {
	if time.Duration(c.lastWait.Load()) > spinFor {
		return 0
	}
	return spinFor
}

// setStreaming sets streaming (Conn.streamReads).
func (c *threadWaitConn) setStreaming(on bool) { c.streaming.Store(on) }

func (c *threadWaitConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	var waited time.Time // when a read first found nothing
	var spin time.Duration
	streaming := c.streaming.Load()
	if !streaming {
		spin = c.spinBudget()
	}
	counted, spinning := false, false // counted in waiting; spinning
	rerr := c.raw.Read(func(fd uintptr) bool {
		for {
			n, err = unix.Read(int(fd), p)
			if err == unix.EINTR {
				continue
			}
			if err != unix.EAGAIN { // data, the end, or an error
				break
			}
			if waited.IsZero() {
				waited = time.Now()
				counted = !streaming // a stream's reads wait for the server's pace, not an answer
				spinning = counted && startWaiting() && spin > 0
			}
			if !spinning || time.Since(waited) >= spin {
				break
			}
			syscall.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) // a server on this CPU runs first
		}
		spinning = false
		return err != unix.EAGAIN // nothing yet: park until readable; then this runs again, without spinning
	})
	if counted {
		waiting.Add(-1)
	}
	if !waited.IsZero() && !streaming {
		c.lastWait.Store(int64(time.Since(waited)))
	}
	var opErr *net.OpError
	switch {
	case errors.As(rerr, &opErr): // a deadline, or the connection closed: worded as net's own reads are
		return 0, &net.OpError{Op: "read", Net: opErr.Net, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: opErr.Err}
	case rerr != nil:
		return 0, rerr
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(),
			Err: os.NewSyscallError("read", err)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

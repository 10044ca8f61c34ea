package lakebase

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spinFor bounds how long a read that finds nothing yet keeps retrying on
// its own thread before parking: about a short statement's round trip to
// a nearby server.
const spinFor = 50 * time.Microsecond

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
// retries on the calling thread for up to spinFor, yielding the CPU between
// tries, and only then parks in Go's network poller, which honours
// deadlines and Close. Against a server farther away than spinFor, each
// wait costs that much CPU in vain before parking.
//
// A goroutine that a foreign thread called into Go with (every call
// through the C ABI) is locked to that thread. Parking it puts the thread
// to sleep, and another thread must take the poller's news and wake it:
// two hand-offs, each a sleep and a wake-up (tens of microseconds on a
// virtual machine), where a short statement's answer arrives within
// spinFor. A pure Go program does not need this: its idle threads spin in
// the scheduler already.
type threadWaitConn struct {
	net.Conn
	raw syscall.RawConn
	// streaming is set while the connection carries a stream the server
	// produces slower than it is read (a COPY TO): a read that finds
	// nothing then parks at once instead of spinning, which would take
	// the CPU the server needs.
	streaming atomic.Bool
}

// setStreaming sets streaming (Conn.streamReads).
func (c *threadWaitConn) setStreaming(on bool) { c.streaming.Store(on) }

func (c *threadWaitConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	var until time.Time
	rerr := c.raw.Read(func(fd uintptr) bool {
		for {
			n, err = unix.Read(int(fd), p)
			switch {
			case err == unix.EINTR:
				continue
			case err != unix.EAGAIN:
				return true
			case until.IsZero():
				if c.streaming.Load() {
					return false
				}
				until = time.Now().Add(spinFor)
			case time.Now().After(until):
				return false // park until readable; then this runs again, without spinning
			}
			syscall.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) // a server on this CPU runs first
		}
	})
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

package lakebase

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// loopbackPair is a real TCP connection on 127.0.0.1: the client side,
// wrapped by waitOnThread, and the server side.
func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	client = waitOnThread(c)
	if _, ok := client.(*threadWaitConn); !ok {
		t.Fatalf("waitOnThread gave %T", client)
	}
	t.Cleanup(func() { client.Close(); s.Close() })
	return client, s
}

// TestThreadWaitConnReads: an answer that is already there, one that comes
// within the spin, and one that comes long after it (the read parks) all
// arrive whole; the peer's close is io.EOF.
func TestThreadWaitConnReads(t *testing.T) {
	c, s := loopbackPair(t)
	buf := make([]byte, 16)
	for _, delay := range []time.Duration{0, 10 * time.Microsecond, 30 * time.Millisecond} {
		go func() {
			time.Sleep(delay)
			s.Write([]byte("answer"))
		}()
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("after %s: read %q, %v", delay, buf[:n], err)
		}
	}
	s.Close()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the peer closed: %d, %v; want io.EOF", n, err)
	}
}

// TestThreadWaitConnSpinFollowsTheServer: a read spins for its answer
// unless the connection's last wait outlasted spinFor (a server far
// away, a long statement); a wait within it brings the spinning back. A
// streaming read's wait does not count.
func TestThreadWaitConnSpinFollowsTheServer(t *testing.T) {
	c, s := loopbackPair(t)
	tw := c.(*threadWaitConn)
	buf := make([]byte, 16)
	answerAfter := func(delay time.Duration) {
		t.Helper()
		go func() {
			time.Sleep(delay)
			s.Write([]byte("answer"))
		}()
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("after %s: read %q, %v", delay, buf[:n], err)
		}
	}
	if got := tw.spinBudget(); got != spinFor {
		t.Fatalf("a new connection spins %s, want %s", got, spinFor)
	}
	answerAfter(30 * time.Millisecond)
	if got := tw.spinBudget(); got != 0 {
		t.Fatalf("after a 30 ms wait the next read spins %s, want 0", got)
	}
	tw.setStreaming(true)
	answerAfter(10 * time.Microsecond)
	tw.setStreaming(false)
	if got := tw.spinBudget(); got != 0 {
		t.Fatalf("after a streaming read the next spins %s, want still 0", got)
	}
	for i := 0; tw.spinBudget() == 0; i++ { // a busy machine may take longer than spinFor to deliver one
		if i == 50 {
			t.Fatal("50 answers within a few microseconds did not bring the spinning back")
		}
		answerAfter(10 * time.Microsecond)
	}
	if got := tw.spinBudget(); got != spinFor {
		t.Fatalf("after a short wait the next read spins %s, want %s", got, spinFor)
	}
}

// TestThreadWaitSpinnersBounded: a read counts as waiting only while it
// waits, and while maxSpinners wait, the next read may not spin (and still
// gets its answer, parked).
func TestThreadWaitSpinnersBounded(t *testing.T) {
	c, s := loopbackPair(t)
	buf := make([]byte, 16)
	read := func() {
		t.Helper()
		go func() {
			time.Sleep(100 * time.Microsecond)
			s.Write([]byte("answer"))
		}()
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
	}
	before := waiting.Load()
	read()
	if n := waiting.Load(); n != before {
		t.Fatalf("%d reads waiting after a read, %d before", n, before)
	}
	waiting.Store(maxSpinners)
	t.Cleanup(func() { waiting.Store(before) })
	read()
	if n := waiting.Load(); n != maxSpinners {
		t.Fatalf("%d reads waiting after a read beside maxSpinners waiting, want %d", n, maxSpinners)
	}
	if startWaiting() {
		t.Fatal("a read may spin beside maxSpinners waiting")
	}
}

// TestThreadWaitConnDeadlineAndClose: a parked read honours a deadline (as
// pgx's cancellation relies on) and a Close from another goroutine.
func TestThreadWaitConnDeadlineAndClose(t *testing.T) {
	c, _ := loopbackPair(t)
	buf := make([]byte, 16)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(buf)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) ||
		!strings.HasPrefix(err.Error(), "read tcp 127.0.0.1:") {
		t.Fatalf("read past its deadline: %v, want a timeout worded as net's", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the deadline took %s to end the read", d)
	}
	c.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		c.Close()
	}()
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed connection: %v, want net.ErrClosed", err)
	}
}

// TestThreadWaitConnReset: a connection reset reads as the *net.OpError
// Go's own connections give, which the pool counts as a lost session.
func TestThreadWaitConnReset(t *testing.T) {
	c, s := loopbackPair(t)
	s.(*net.TCPConn).SetLinger(0) // close with a reset
	c.Write([]byte("unread"))     // unread data makes the peer's close a reset too
	time.Sleep(20 * time.Millisecond)
	s.Close()
	_, err := c.Read(make([]byte, 16))
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !connectionLost(err) {
		t.Fatalf("read after a reset: %T %v, want a *net.OpError", err, err)
	}
}

// TestThreadWaitIsPerConfiguration: sessions of a configuration with
// ThreadWait wait on the calling thread, while those of another
// configuration in the same process park in Go's poller.
func TestThreadWaitIsPerConfiguration(t *testing.T) {
	s := lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance)
	for _, wait := range []bool{true, false} {
		p := connectWith(t, &Config{ThreadWait: wait}, s)
		c, err := p.pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conn := c.Conn().PgConn().Conn()
		if tlsConn, ok := conn.(*tls.Conn); ok {
			conn = tlsConn.NetConn()
		}
		if fc, ok := conn.(*feedConn); ok { // the C library's sessions' bytes can be fed (fed.go)
			conn = fc.Conn
		}
		if _, onThread := conn.(*threadWaitConn); onThread != wait {
			t.Errorf("ThreadWait=%v: the session's connection is a %T", wait, conn)
		}
		c.Release()
	}
}

// TestCopyToParksReads: with ThreadWait, a COPY TO's reads park instead of
// spinning (threadWaitConn.streaming) while it runs, and spin again after.
func TestCopyToParksReads(t *testing.T) {
	p := connectWith(t, &Config{ThreadWait: true}, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	c, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fc, ok := rawConn(c.pg).(*feedConn)
	if !ok {
		t.Fatalf("the connection is a %T", rawConn(c.pg))
	}
	tw, ok := fc.Conn.(*threadWaitConn)
	if !ok {
		t.Fatalf("under the feedConn: a %T", fc.Conn)
	}
	o, err := c.StartCopyTo(context.Background(), "COPY (SELECT generate_series(1, 1000)) TO STDOUT")
	if err != nil {
		t.Fatal(err)
	}
	if !tw.streaming.Load() {
		t.Error("not streaming during the COPY")
	}
	if n, err := o.Close(); n != 1000 || err != nil || tw.streaming.Load() {
		t.Errorf("after the COPY: %d, %v, streaming %v", n, err, tw.streaming.Load())
	}
}

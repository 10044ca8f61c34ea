//go:build unix

package lakebase

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// This file tests fed.go against the emulator's PostgreSQL, reading the
// session's socket as an event loop would.

// fedConn is a session of the C library's kind (ThreadWait), over TLS
// (verify-full, through the gateway) or without it (to the backing
// server directly, with its password), with the duplicate of its socket.
func fedConn(t *testing.T, tls bool) (*Conn, int) {
	t.Helper()
	s := lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance)
	if !tls {
		u, _ := url.Parse(testEmulator.Info().Lakebase.PostgresURL)
		password, _ := u.User.Password()
		host, port, _ := net.SplitHostPort(u.Host)
		s = fmt.Sprintf("AuthScheme=Password;Server=%s;Port=%s;User=%s;Password=%s;SSLMode=disable",
			host, port, u.User.Username(), password)
	}
	p := connectWith(t, &Config{ThreadWait: true}, s)
	c, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fd, err := c.SessionSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return c, fd
}

// feedAll reads fd, as a loop watching it would, and feeds c what comes, at
// most piece bytes at a time, until FeedQuery tells it has all it needs.
func feedAll(t *testing.T, c *Conn, fd, piece int) Feeding {
	t.Helper()
	buf := make([]byte, 64<<10)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 5000); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("reading the session's socket: %d %v", n, err)
		}
		for b := buf[:n]; len(b) > 0; {
			k := min(piece, len(b))
			if f := c.FeedQuery(b[:k]); f != FeedMore {
				if f == FeedComplete && k < len(b) {
					t.Fatalf("FeedQuery told the answer complete with %d bytes read left over", len(b)-k)
				}
				c.FeedQuery(b[k:]) // what was read goes to the session
				return f
			}
			b = b[k:]
		}
	}
}

// fedRun sends q (preparing it first when SendQuery asks), feeds its
// answer piece bytes at a time, and returns what FeedQuery told last and
// the Result's batches and tag (or its error).
func fedRun(t *testing.T, c *Conn, fd, piece int, q Queued) (Feeding, [][]byte, string, error) {
	t.Helper()
	sending, err := c.SendQuery(q.SQL, q.Args)
	if sending == PrepareFirst {
		if err := c.PrepareQuery(context.Background(), q.SQL); err != nil {
			return 0, nil, "", err
		}
		sending, err = c.SendQuery(q.SQL, q.Args)
	}
	if sending != Sent || err != nil {
		t.Fatalf("%s: not sent (%d): %v", q.SQL, sending, err)
	}
	other, err := c.SessionSocket() // does not wait for the answer (nor drop it)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(other)
	fed := feedAll(t, c, fd, piece)
	r, err := c.ReceiveQuery(context.Background())
	if err != nil {
		return fed, nil, "", err
	}
	defer r.Close()
	var batches [][]byte
	for {
		b, err := r.NextBatch(FormatColumnar, 1000)
		if err != nil {
			return fed, nil, "", err
		}
		if b == nil {
			return fed, batches, r.CommandTag(), nil
		}
		batches = append(batches, b)
	}
}

// TestFedQuery: a statement sent without waiting, its answer fed in pieces
// of one byte up to all that came, over TLS and without, gives what
// Execute gives: rows, a command tag, the server's error; a large answer
// is received before it has all come, and read as it comes.
func TestFedQuery(t *testing.T) {
	stmts := []struct {
		q    Queued
		want Feeding
	}{
		{Queued{"SELECT g, g::text AS t FROM generate_series(1, $1::int) g", []any{int64(3)}}, FeedComplete},
		{Queued{"SELECT 1/$1::int", []any{int64(0)}}, FeedComplete},
		{Queued{"CREATE TEMP TABLE fed_t (a int)", nil}, FeedComplete},
		{Queued{"INSERT INTO fed_t SELECT generate_series(1, $1::int)", []any{int64(5)}}, FeedComplete},
		{Queued{"SELECT g, md5(g::text) FROM generate_series(1, $1::int) g", []any{int64(20000)}}, FeedWait},
	}
	for _, tls := range []bool{true, false} {
		for _, piece := range []int{1, 7, 1 << 20} {
			t.Run(fmt.Sprintf("tls=%v/piece=%d", tls, piece), func(t *testing.T) {
				c, fd := fedConn(t, tls)
				for _, s := range stmts {
					if piece == 1 && s.want == FeedWait {
						continue // a byte at a time, it takes long
					}
					fed, got, tag, err := fedRun(t, c, fd, piece, s.q)
					all(t, c, "SELECT 1") // the session goes on as usual
					if s.q.SQL == stmts[2].q.SQL {
						all(t, c, "DROP TABLE fed_t")
						fed2, _, _, err2 := fedRun(t, c, fd, piece, s.q) // prepared in the pipeline cache now
						if err2 != nil || fed2 != FeedComplete {
							t.Fatalf("again: %d %v", fed2, err2)
						}
					}
					if fed != s.want {
						t.Errorf("%s: FeedQuery told %d, want %d", s.q.SQL, fed, s.want)
					}
					if s.q.SQL == stmts[2].q.SQL {
						continue
					}
					want, wantTag, wantErr := executed(c, s.q)
					if fmt.Sprint(err) != fmt.Sprint(wantErr) || tag != wantTag || !slices.EqualFunc(got, want, slices.Equal) {
						t.Fatalf("%s: %q %v (%d batches), want %q %v (%d batches)", s.q.SQL, tag, err, len(got),
							wantTag, wantErr, len(want))
					}
				}
			})
		}
	}
}

// executed runs q with Execute: its batches, tag and error.
func executed(c *Conn, q Queued) ([][]byte, string, error) {
	r, err := c.Execute(context.Background(), q.SQL, q.Args...)
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	var batches [][]byte
	for {
		b, err := r.NextBatch(FormatColumnar, 1000)
		if err != nil {
			return nil, "", err
		}
		if b == nil {
			return batches, r.CommandTag(), nil
		}
		batches = append(batches, b)
	}
}

// TestFedQueryNotSent: what SendQuery leaves to Execute.
func TestFedQueryNotSent(t *testing.T) {
	c, _ := fedConn(t, true)
	ctx := context.Background()
	if s, err := c.SendQuery("SELECT 1; SELECT 2", nil); s != NotSent || err != nil {
		t.Errorf("several statements: %d %v", s, err)
	}
	if s, err := c.SendQuery("/* in */ COPY (SELECT 1) TO STDOUT", nil); s != NotSent || err != nil {
		t.Errorf("a COPY: %d %v", s, err)
	}
	if err := c.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := c.SendQuery("SELECT 1", nil); s != NotSent || err != nil {
		t.Errorf("in a transaction: %d %v", s, err)
	}
	if err := c.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.PrepareQuery(ctx, "SELECT $1::int"); err != nil {
		t.Fatal(err)
	}
	if err := c.PrepareQuery(ctx, "SELECT length($1::bytea)"); err != nil {
		t.Fatal(err)
	}
	if s, err := c.SendQuery("SELECT length($1::bytea)", []any{make([]byte, fedArgsLimit+1)}); s != NotSent || err != nil {
		t.Errorf("a large argument: %d %v", s, err)
	}
	if s, err := c.SendQuery("SELECT $1::int", []any{int64(1), int64(2)}); s != NotSent || err == nil {
		t.Errorf("two arguments for one: %d %v", s, err)
	}
	if err := c.PrepareQuery(ctx, "SELEC 1"); err == nil || !strings.Contains(err.Error(), "42601") {
		t.Errorf("a syntax error: %v", err)
	}
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	own, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if s, err := own.SendQuery("SELECT 1", nil); s != NotSent || err != nil {
		t.Errorf("a session of a Config without ThreadWait: %d %v", s, err)
	}
	if _, err := own.SessionSocket(); err == nil {
		t.Error("a session of a Config without ThreadWait gave its socket")
	}
}

// TestFedQueryStale: a statement whose prepared form another session's
// ALTER made stale is received where waiting is allowed, and runs again.
func TestFedQueryStale(t *testing.T) {
	c, fd := fedConn(t, true)
	p, other := bulkConn(t)
	_ = p
	all(t, other, "CREATE TABLE fed_s (a int)")
	t.Cleanup(func() { all(t, other, "DROP TABLE fed_s") })
	all(t, other, "INSERT INTO fed_s VALUES (1)")
	q := Queued{"SELECT * FROM fed_s WHERE $1::int > 0", []any{int64(1)}}
	if fed, _, tag, err := fedRun(t, c, fd, 1<<20, q); fed != FeedComplete || err != nil || tag != "SELECT 1" {
		t.Fatalf("first: %d %q %v", fed, tag, err)
	}
	all(t, other, "ALTER TABLE fed_s ALTER COLUMN a TYPE text")
	fed, got, tag, err := fedRun(t, c, fd, 1<<20, q)
	want, _, _ := executed(c, q)
	if fed != FeedWait || err != nil || tag != "SELECT 1" || !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("after the ALTER: %d %q %v", fed, tag, err)
	}
}

// TestFedQueryDroppedByTheNextCall: a call on the session before the
// answer was received reads and drops it; receiving then tells so.
func TestFedQueryDroppedByTheNextCall(t *testing.T) {
	c, _ := fedConn(t, true)
	ctx := context.Background()
	if err := c.PrepareQuery(ctx, "SELECT $1::int"); err != nil {
		t.Fatal(err)
	}
	if s, err := c.SendQuery("SELECT $1::int", []any{int64(1)}); s != Sent || err != nil {
		t.Fatalf("not sent: %d %v", s, err)
	}
	if rows, _ := all(t, c, "SELECT 7"); rows[0][0] != int32(7) {
		t.Fatalf("next call: %v", rows)
	}
	if _, err := c.ReceiveQuery(ctx); err != ErrDiscarded {
		t.Fatalf("receive after: %v", err)
	}
	if f := c.FeedQuery([]byte{1}); f != FeedWait {
		t.Fatalf("feeding after: %d", f)
	}
}

// TestFedQueryAfterAFullCache: a statement new to a session whose
// pipeline cache is full is prepared once (the one it puts out is
// deallocated in the same round trip), then sent.
func TestFedQueryAfterAFullCache(t *testing.T) {
	c, fd := fedConn(t, true)
	ctx := context.Background()
	var stmts []Queued
	for i := range pipelineCacheSize {
		stmts = append(stmts, Queued{fmt.Sprintf("SELECT $1::int + %d", i), []any{int64(i)}})
	}
	if _, err := c.Pipeline(ctx, stmts, FormatColumnar, 0); err != nil {
		t.Fatal(err)
	}
	q := Queued{"SELECT $1::int - 1", []any{int64(1)}}
	if s, err := c.SendQuery(q.SQL, q.Args); s != PrepareFirst || err != nil {
		t.Fatalf("new: %d %v", s, err)
	}
	if err := c.PrepareQuery(ctx, q.SQL); err != nil {
		t.Fatal(err)
	}
	if s, err := c.SendQuery(q.SQL, q.Args); s != Sent || err != nil {
		t.Fatalf("prepared: %d %v", s, err)
	}
	if f := feedAll(t, c, fd, 1<<20); f != FeedComplete {
		t.Fatalf("fed: %d", f)
	}
	r, err := c.ReceiveQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	rows, _ := all(t, c, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'lakelink_pipeline_%'")
	if n := rows[0][0].(int64); n != pipelineCacheSize {
		t.Errorf("%d statements prepared, want %d", n, pipelineCacheSize)
	}
}

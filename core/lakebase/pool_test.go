package lakebase

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/internal/soak"
)

// This file tests Open's sessions and pools (pool.go): a session of its
// own ends on the server when closed; a pool applies its connection
// string's sizes, limits and timeouts.

// serverSessions counts the backing server's sessions whose
// application_name starts with prefix, through a connection of its own
// (not the gateway's), waiting up to 5 s for the count to be want.
func serverSessions(t *testing.T, prefix string, want int) int {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testEmulator.Info().Lakebase.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE starts_with(application_name, $1)",
			prefix).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backendPID is the server's process of c's session.
func backendPID(t *testing.T, c *Conn) int32 {
	t.Helper()
	r, err := c.Execute(context.Background(), "SELECT pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	v, err := r.Values()
	if err != nil {
		t.Fatal(err)
	}
	return v[0].(int32)
}

// TestOpenIsASessionOfItsOwn: Opens of one connection string are
// sessions of their own, and Close ends each on the server.
func TestOpenIsASessionOfItsOwn(t *testing.T) {
	bothWaits(t, func(t *testing.T, cfg *Config) {
		app := "open-own-" + fmt.Sprint(cfg.ThreadWait)
		o, err := connstr.Parse(lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+";ApplicationName="+app))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a, err := cfg.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := cfg.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if backendPID(t, a) == backendPID(t, b) {
			t.Error("two Opens share a session")
		}
		if n := serverSessions(t, app, 2); n != 2 {
			t.Errorf("%d sessions on the server for two Opens", n)
		}
		a.Close()
		if n := serverSessions(t, app, 1); n != 1 {
			t.Errorf("%d sessions on the server after one of two Opens closed, want 1", n)
		}
		b.Close()
		b.Close() // harmless
		if n := serverSessions(t, app, 0); n != 0 {
			t.Errorf("%d sessions left on the server after Close", n)
		}
	})
}

// TestDiscard: a pooled session discarded (inside a transaction, a
// result half read) ends on the server and is never handed out again; the
// pool opens another; a session of Open's discarded ends too.
func TestDiscard(t *testing.T) {
	const app = "discard-test"
	cs := lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+";MaxConnections=1;ApplicationName="+app)
	p := connect(t, cs)
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := backendPID(t, c)
	if err := c.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := c.Execute(ctx, "SELECT g FROM generate_series(1, 100000) g")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Next() {
		t.Fatal(r.Err())
	}
	if err := c.Discard(); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Total != 0 || s.Acquired != 0 { // at once, as node-postgres's totalCount after release(err)
		t.Errorf("stats after Discard: %+v, want no session", s)
	}
	if r.Next() || !errors.Is(r.Err(), ErrDiscarded) {
		t.Errorf("reading a discarded session's result: %v, want ErrDiscarded", r.Err())
	}
	if err := r.Close(); !errors.Is(err, ErrDiscarded) {
		t.Errorf("closing it: %v", err)
	}
	if err := c.Discard(); err != nil { // harmless
		t.Error(err)
	}
	if _, err := c.Execute(ctx, "SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Errorf("a discarded Conn: %v, want ErrClosed", err)
	}
	if n := serverSessions(t, app, 0); n != 0 {
		t.Errorf("%d sessions on the server after Discard", n)
	}
	c, err = p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if backendPID(t, c) == pid {
		t.Error("the discarded session served again")
	}
	c.Close()

	o, _ := connstr.Parse(cs)
	own, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := serverSessions(t, app, 2); n != 2 {
		t.Errorf("%d sessions, want the pool's and Open's", n)
	}
	if err := own.Discard(); err != nil {
		t.Fatal(err)
	}
	if n := serverSessions(t, app, 1); n != 1 {
		t.Errorf("%d sessions after Open's Discard, want the pool's", n)
	}
}

// TestOpenRenewsARefusedCredential: Open logs in as a pool does: a
// credential the server refuses is renewed once and the login retried.
func TestOpenRenewsARefusedCredential(t *testing.T) {
	p, e := revokedPool(t, "")
	o, _ := connstr.Parse(lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance))
	before := e.Stats()
	c, err := Open(context.Background(), o) // the pool's credential: one per identity and instance
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	after := e.Stats()
	if d := after.CredentialsIssued - before.CredentialsIssued; d != 1 {
		t.Errorf("%d credentials minted after a refused login, want 1", d)
	}
	if d := after.GatewayLogins.Refused - before.GatewayLogins.Refused; d != 1 {
		t.Errorf("%d refused logins, want 1", d)
	}
	if got := scalar(t, p, "SELECT 1"); got != "1" { // the pool has the renewed one too
		t.Errorf("got %q", got)
	}
}

// TestPoolTimeout: a pool whose sessions are all taken makes Acquire wait
// PoolTimeout, counted as waiting, then fail saying the pool's size; a
// session returned serves the next.
func TestPoolTimeout(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+";MaxConnections=2;PoolTimeout=1"))
	ctx := context.Background()
	var held []*Conn
	for range 2 {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	done := make(chan error)
	start := time.Now()
	go func() {
		_, err := p.Acquire(ctx)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if s := p.Stats(); s != (PoolStats{Total: 2, Acquired: 2, Waiting: 1, Max: 2, Timeout: time.Second}) {
		t.Errorf("stats while one waits: %+v", s)
	}
	err := <-done
	waited := time.Since(start)
	if !errors.Is(err, ErrPoolTimeout) || !strings.Contains(err.Error(), "all 2 sessions") ||
		!strings.Contains(err.Error(), "MaxConnections=2") || waited < time.Second || waited > 3*time.Second {
		t.Errorf("a third Acquire: %v after %v", err, waited)
	}
	held[0].Close()
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("after a session was returned: %v", err)
	}
	c.Close()
	held[1].Close()
	if s := p.Stats(); s != (PoolStats{Total: 2, Idle: 2, Max: 2, Timeout: time.Second}) {
		t.Errorf("stats at the end: %+v", s)
	}
}

// TestPoolMaxIdleTime: sessions idle for MaxIdleTime are closed, on the
// server too, down to MinConnections.
func TestPoolMaxIdleTime(t *testing.T) {
	const app = "pool-idle"
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+
		";MinConnections=1;MaxConnections=4;MaxIdleTime=1;ApplicationName="+app))
	ctx := context.Background()
	var held []*Conn
	for range 3 {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Close()
	}
	if n := serverSessions(t, app, 3); n != 3 {
		t.Fatalf("%d sessions on the server, want 3", n)
	}
	time.Sleep(2 * time.Second) // MaxIdleTime, and the health check that runs every half of it
	if s := p.Stats(); s.Total != 1 || s.Idle != 1 {
		t.Errorf("after MaxIdleTime: %+v, want MinConnections (1) left", s)
	}
	if n := serverSessions(t, app, 1); n != 1 {
		t.Errorf("%d sessions on the server after MaxIdleTime, want 1", n)
	}
	if got := scalar(t, p, "SELECT 1"); got != "1" {
		t.Errorf("got %q", got)
	}
}

// TestPoolCloseDoesNotWait: Close closes idle sessions at once and does
// not wait for acquired ones, which work on until returned and then end;
// Acquire then fails with ErrPoolClosed.
func TestPoolCloseDoesNotWait(t *testing.T) {
	const app = "pool-close"
	o, _ := connstr.Parse(lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+
		";MaxConnections=3;ApplicationName="+app))
	ctx := context.Background()
	p, err := Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.Acquire(ctx)
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.Close() // idle
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for an acquired session")
	}
	p.Close() // harmless
	if _, err := p.Acquire(ctx); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("Acquire after Close: %v", err)
	}
	if n := serverSessions(t, app, 1); n != 1 {
		t.Errorf("%d sessions on the server after Close with one acquired, want 1", n)
	}
	if got := backendPID(t, a); got == 0 {
		t.Error("no pid")
	}
	a.Close()
	if n := serverSessions(t, app, 0); n != 0 {
		t.Errorf("%d sessions on the server once the acquired one was returned", n)
	}
}

// TestPoolRecyclesSessions: a pool with a short MaxLifetime under
// continuous load (queries, and transactions and statements outlasting
// MaxLifetime) replaces its sessions all along without failing one query,
// never during a statement or a transaction.
func TestPoolRecyclesSessions(t *testing.T) {
	duration := soak.Pick(20*time.Second, 10*time.Minute)
	lifetime := soak.Pick(2*time.Second, 30*time.Second)
	e, err := emulator.Start(context.Background(), emulator.Config{PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := connect(t, lakebaseConn(e, fmt.Sprintf("Instance=%s;MaxConnections=4;MaxLifetime=%s",
		e.Info().Lakebase.Instance, lifetime)))
	before := soak.Count()
	ctx := context.Background()
	deadline := time.Now().Add(duration)
	var queries, failures atomic.Int64
	var firstFailure atomic.Value
	var mu sync.Mutex
	pids := map[int32]bool{}
	fail := func(err error) {
		failures.Add(1)
		firstFailure.CompareAndSwap(nil, err.Error())
	}
	var wg sync.WaitGroup
	for range 3 { // short statements
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				var pid int32
				err := scanOne(ctx, p, &pid)
				queries.Add(1)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				pids[pid] = true
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() { // a transaction and a statement each longer than MaxLifetime: never cut
		defer wg.Done()
		for time.Now().Before(deadline) {
			if err := longTransaction(ctx, p, lifetime+lifetime/2); err != nil {
				fail(err)
			}
			queries.Add(1)
		}
	}()
	wg.Wait()
	stats := p.Stats()
	recycled := p.pool.Stat().MaxLifetimeDestroyCount()
	p.Close()
	after := soak.Settle(before, 10*time.Second, func() {})
	soak.Record(t, "pool recycles sessions under load", map[string]any{"duration_s": duration.Seconds(),
		"max_lifetime_s": lifetime.Seconds(), "queries": queries.Load(), "failed_queries": failures.Load(),
		"backend_pids_seen": len(pids), "recycled": recycled, "before": before, "after": after})
	if failures.Load() != 0 {
		t.Errorf("%d of %d queries failed; first: %v", failures.Load(), queries.Load(), firstFailure.Load())
	}
	// At most 4 sessions at a time, each replaced after about MaxLifetime.
	if want := int(duration / (2 * lifetime)); len(pids) < want || recycled < int64(want)-4 {
		t.Errorf("%d backends seen, %d sessions recycled in %s with MaxLifetime %s: want at least %d",
			len(pids), recycled, duration, lifetime, want)
	}
	if stats.Total > 4 {
		t.Errorf("%+v: more than MaxConnections", stats)
	}
	if after.Goroutines > before.Goroutines || after.OpenFiles > before.OpenFiles {
		t.Errorf("before %+v, after %+v: a leak", before, after)
	}
}

// scanOne reads one pg_backend_pid() through the pool.
func scanOne(ctx context.Context, p *Pool, pid *int32) error {
	r, err := p.Query(ctx, "SELECT pg_backend_pid()")
	if err != nil {
		return err
	}
	defer r.Close()
	if !r.Next() {
		return fmt.Errorf("no row: %v", r.Err())
	}
	v, err := r.Values()
	if err != nil {
		return err
	}
	*pid = v[0].(int32)
	return r.Close()
}

// longTransaction holds a session for d in a transaction (and a statement
// lasting d/2), and checks that its session stayed the same throughout.
func longTransaction(ctx context.Context, p *Pool, d time.Duration) error {
	c, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	pid := func() (int32, error) {
		r, err := c.Execute(ctx, "SELECT pg_backend_pid()")
		if err != nil {
			return 0, err
		}
		defer r.Close()
		if !r.Next() {
			return 0, fmt.Errorf("no row: %v", r.Err())
		}
		v, err := r.Values()
		if err != nil {
			return 0, err
		}
		return v[0].(int32), r.Close()
	}
	if err := c.Begin(ctx); err != nil {
		return err
	}
	first, err := pid()
	if err != nil {
		return err
	}
	time.Sleep(d / 2)
	r, err := c.Execute(ctx, "SELECT pg_sleep($1)", (d / 2).Seconds())
	if err != nil {
		return err
	}
	if err := r.Close(); err != nil {
		return err
	}
	last, err := pid()
	if err != nil {
		return err
	}
	if first != last {
		return fmt.Errorf("the transaction moved from backend %d to %d", first, last)
	}
	return c.Commit(ctx)
}

// TestOpenCloseLeavesNothing: 1,000 Opens and Closes (as lakelink_connect
// and lakelink_close make them: a connection string parsed each time,
// sessions waiting on their threads), with a distinct ApplicationName
// each and with one string for all, leave no session on the server, and
// goroutines and open files at their count before (after a first round,
// which opens what the Config keeps: its identity's token, credential and
// HTTP connections).
func TestOpenCloseLeavesNothing(t *testing.T) {
	const n, workers = 1000, 4
	cfg := &Config{ThreadWait: true}
	base := lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance)
	o, err := connstr.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var first sync.WaitGroup
	for range workers {
		first.Add(1)
		go func() {
			defer first.Done()
			c, err := cfg.Open(context.Background(), o)
			if err != nil {
				t.Error(err)
				return
			}
			c.Close()
		}()
	}
	first.Wait()
	for _, distinct := range []bool{true, false} {
		name := map[bool]string{true: "distinct strings", false: "equal strings"}[distinct]
		t.Run(name, func(t *testing.T) {
			prefix := fmt.Sprintf("open-close-%v-", distinct)
			before := soak.Count()
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1); i <= n; i = next.Add(1) {
						app := prefix + "all"
						if distinct {
							app = fmt.Sprintf("%suser%d", prefix, i)
						}
						o, err := connstr.Parse(base + ";ApplicationName=" + app)
						if err != nil {
							t.Error(err)
							return
						}
						c, err := cfg.Open(context.Background(), o)
						if err != nil {
							t.Error(err)
							return
						}
						if err := c.Close(); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			left := serverSessions(t, prefix, 0)
			after := soak.Settle(before, 10*time.Second, func() {})
			soak.Record(t, "connect/close "+name, map[string]any{"opens": n, "seconds": elapsed.Seconds(),
				"sessions_left": left, "before": before, "after": after})
			if left != 0 {
				t.Errorf("%d sessions left on the server after %d Opens and Closes", left, n)
			}
			if after.Goroutines > before.Goroutines || after.OpenFiles > before.OpenFiles {
				t.Errorf("before %+v, after %+v: a leak", before, after)
			}
		})
	}
}

// TestPoolCloseEndsWaits: Close ends at once the Acquires waiting for a
// session, of the pool and of its App users' pools, with ErrPoolClosed
// (not after PoolTimeout): a process that closes its pools on the way out
// does not wait for them.
func TestPoolCloseEndsWaits(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	p := appPool(t, nil, e, "MaxConnections=1;MaxUserConnections=1;PoolTimeout=30s")
	user := p.AsUser(forwardedToken(t, e, "wren@example.com"))
	held, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	userHeld, err := user.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer userHeld.Close()
	errs := make(chan error, 2)
	for _, acquire := range []func(context.Context) (*Conn, error){p.Acquire, user.Acquire} {
		go func() {
			c, err := acquire(ctx)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	for p.Stats().Waiting < 1 || userWaiting(user) < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	t0 := time.Now()
	p.Close()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrPoolClosed) {
				t.Errorf("a waiting Acquire at Close: %v, want ErrPoolClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("an Acquire waiting for a session still waits 5 s after Close")
		}
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("the waiting Acquires ended %v after Close", d)
	}
}

// userWaiting counts the Acquires waiting in u's user's pool.
func userWaiting(u *UserPool) int {
	n := 0
	for _, up := range u.owner.users.pools.Values() {
		n += int(up.pool.waiting.Load())
	}
	return n
}

// TestIdle: a session is idle (could serve another holder as it is) with
// nothing in progress, and not with a transaction (begun by Begin or by a
// statement), a result not read to its end, or once closed.
func TestIdle(t *testing.T) {
	ctx := context.Background()
	_, c := bulkConn(t)
	if !c.Idle() {
		t.Fatal("a session just acquired is not idle")
	}
	if err := c.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	all(t, c, "SELECT 1")
	if c.Idle() {
		t.Error("idle in a transaction")
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	all(t, c, "BEGIN")
	if c.Idle() {
		t.Error("idle in a transaction a statement began")
	}
	all(t, c, "COMMIT")
	r, err := c.Execute(ctx, "SELECT generate_series(1, 5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.NextBatch(FormatColumnar, 10); err != nil {
		t.Fatal(err)
	}
	if c.Idle() {
		t.Error("idle with a result open")
	}
	r.Close()
	if !c.Idle() {
		t.Error("not idle after all ended")
	}
	c.Close()
	if c.Idle() {
		t.Error("idle once closed")
	}
}

package lakebase

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/internal/soak"
)

// The Lakebase half of the reliability suite (figures in
// bench/RELIABILITY.md): sessions cut mid-query, PostgreSQL restarted
// under load, and short-lived credentials under concurrent load. Each has
// a short version, run by `make test`, and a long one, run by `make soak`
// (LAKELINK_SOAK=1).

// armFault arms a fault on e.
func armFault(t *testing.T, e *emulator.Emulator, fault string) {
	t.Helper()
	resp, err := http.Post(e.Info().AdminURL+"/faults", "application/json", strings.NewReader(fault))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("arming %s: %s", fault, resp.Status)
	}
}

// queryInt runs SELECT $1::int on the pool and checks the answer.
func queryInt(ctx context.Context, p *Pool, sql string, n int) error {
	r, err := p.Query(ctx, sql, n)
	if err != nil {
		return err
	}
	defer r.Close()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return err
		}
		return errors.New("no row")
	}
	v, err := r.Values()
	if err != nil {
		return err
	}
	if fmt.Sprint(v[0]) != fmt.Sprint(n) {
		return fmt.Errorf("got %v, want %d", v[0], n)
	}
	r.Close()
	return r.Err()
}

// openSessions waits up to 5 s for e's open gateway sessions to be want,
// and returns the last count.
func openSessions(e *emulator.Emulator, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := e.Stats().Open.Gateway
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSessionsCutMidQuery: the gateway ends sessions while a query runs
// on them. That query fails with an *Error saying the connection was
// lost; the pool discards the dead session; the next queries succeed.
func TestSessionsCutMidQuery(t *testing.T) { bothWaits(t, testSessionsCutMidQuery) }

func testSessionsCutMidQuery(t *testing.T, cfg *Config) {
	e, err := emulator.Start(context.Background(), emulator.Config{PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cuts := soak.Pick(3, 20)
	p := connectWith(t, cfg, lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance+";MaxConnections=2"))
	defer p.Close()
	ctx := context.Background()
	before := e.Stats()
	var failures, successes int
	for i := range cuts {
		// The cut applies to the next session: make the pool open one.
		armFault(t, e, `{"endpoint":"gateway","kind":"cut","duration":"300ms"}`)
		p.pool.Reset()
		start := time.Now()
		err := queryInt(ctx, p, "SELECT $1::int FROM pg_sleep(5)", i)
		var lbErr *Error
		switch {
		case err == nil:
			t.Fatalf("cut %d: the query on a cut session succeeded", i)
		case time.Since(start) > 4*time.Second:
			t.Fatalf("cut %d: the query failed only after %s", i, time.Since(start))
		case !errors.As(err, &lbErr) || !strings.Contains(err.Error(), "connection lost") || !strings.Contains(err.Error(), e.Info().Lakebase.Host):
			t.Fatalf("cut %d: error %T %q, want a lakebase *Error naming the host and the lost connection", i, err, err)
		}
		failures++
		for j := range 5 {
			if err := queryInt(ctx, p, "SELECT $1::int", j); err != nil {
				t.Fatalf("cut %d: query %d after the cut: %v", i, j, err)
			}
			successes++
		}
		if s := p.pool.Stat(); s.TotalConns() > 2 {
			t.Fatalf("the pool holds %d sessions, more than MaxConnections", s.TotalConns())
		}
	}
	total := p.pool.Stat().TotalConns()
	open := openSessions(e, int(total))
	if open != int(total) {
		t.Errorf("the gateway has %d sessions open, the pool %d: a dead session was kept", open, total)
	}
	logins := e.Stats().GatewayLogins.Accepted - before.GatewayLogins.Accepted
	soak.Record(t, "gateway cuts sessions mid-query", map[string]any{"cuts": cuts, "failed_queries": failures,
		"queries_after_cuts_ok": successes, "logins": logins, "pool_sessions_at_end": total, "gateway_sessions_at_end": open})
}

// TestPostgresRestartUnderLoad: workers query a pool while the PostgreSQL
// server behind the gateway restarts. Queries fail while it is down; the
// same pool then recovers on its own, with no failure after, and keeps no
// dead session.
func TestPostgresRestartUnderLoad(t *testing.T) {
	e, err := emulator.Start(context.Background(), emulator.Config{}) // its own cluster, to restart
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	workers := soak.Pick(8, 32)
	restarts := soak.Pick(1, 5)
	p := connect(t, lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance))
	ctx := context.Background()
	goBefore := soak.Count()

	var ops, failed, failedAfterRecovery atomic.Int64
	var lastFailure atomic.Int64 // unix nanoseconds
	var mu sync.Mutex
	var firstErrors []string
	var recoveredAt atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := queryInt(qctx, p, "SELECT $1::int", w*1000000+i)
				cancel()
				ops.Add(1)
				if err != nil {
					failed.Add(1)
					lastFailure.Store(time.Now().UnixNano())
					if at := recoveredAt.Load(); at != 0 && time.Now().UnixNano() > at+int64(2*time.Second) {
						failedAfterRecovery.Add(1)
					}
					mu.Lock()
					if len(firstErrors) < 5 {
						firstErrors = append(firstErrors, err.Error())
					}
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(time.Duration(rand.N(5)) * time.Millisecond)
			}
		}()
	}
	var downtimes []string
	for range restarts {
		time.Sleep(2 * time.Second)
		start := time.Now()
		recoveredAt.Store(0)
		if err := e.RestartPostgres(ctx); err != nil {
			t.Fatal(err)
		}
		// Recovered: a query succeeds after the restart.
		for queryInt(ctx, p, "SELECT $1::int", 1) != nil {
			if time.Since(start) > 30*time.Second {
				t.Fatal("the pool did not recover within 30 s of the restart")
			}
			time.Sleep(20 * time.Millisecond)
		}
		recoveredAt.Store(time.Now().UnixNano())
		downtimes = append(downtimes, time.Since(start).Round(time.Millisecond).String())
		time.Sleep(3 * time.Second)
	}
	close(stop)
	wg.Wait()

	if n := failedAfterRecovery.Load(); n > 0 {
		t.Errorf("%d queries failed more than 2 s after the pool recovered", n)
	}
	total := p.pool.Stat().TotalConns()
	open := openSessions(e, int(total))
	if open != int(total) {
		t.Errorf("the gateway has %d sessions open, the pool %d", open, total)
	}
	p.Close()
	openAfterClose := openSessions(e, 0)
	after := soak.Settle(goBefore, 10*time.Second, func() {})
	if openAfterClose != 0 {
		t.Errorf("%d gateway sessions open after the pool closed", openAfterClose)
	}
	t.Logf("first errors: %q", firstErrors)
	soak.Record(t, "postgres restarted under load", map[string]any{"workers": workers, "restarts": restarts, "operations": ops.Load(),
		"failed_operations": failed.Load(), "failed_after_recovery": failedAfterRecovery.Load(), "restart_to_recovery": downtimes,
		"gateway_sessions_after_close": openAfterClose, "goroutines_before": goBefore.Goroutines, "goroutines_after": after.Goroutines,
		"first_errors": firstErrors})
}

// TestShortLivedCredentialsUnderLoad: with tokens and credentials living
// a few seconds, 32 workers run pooled queries, queries on connections of
// their own (each a new login) and app calls. No operation fails, and the
// token and credential requests number about run time / TTL: one per
// renewal, which comes at three quarters of the lifetime (auth.NeedsRenewal),
// shared by every worker.
func TestShortLivedCredentialsUnderLoad(t *testing.T) {
	ttl := soak.Pick(3*time.Second, 5*time.Second)
	run := soak.Pick(20*time.Second, 2*time.Minute)
	const workers = 32
	ctx := context.Background()
	e, err := emulator.Start(ctx, emulator.Config{TokenTTL: ttl, PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	o, err := connstr.Parse(lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokenSource(o) // the pool's own identity, shared
	if err != nil {
		t.Fatal(err)
	}
	app, err := apps.New(e.Info().AppURL, tokens)
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	resources := soak.Count()

	kinds := []string{"pooled query", "app call", "own connection"}
	var ops, failed [3]atomic.Int64
	var mu sync.Mutex
	var firstErrors []string
	start := time.Now()
	deadline := start.Add(run)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				kind := i % 2 // pooled queries and app calls in turn, and now and then a login of its own
				if i%10 == 9 {
					kind = 2
				}
				var err error
				switch kind {
				case 0:
					err = queryInt(ctx, p, "SELECT $1::int", w*1000000+i)
				case 1:
					var resp *apps.Response
					if resp, err = app.Get(ctx, "/api/whoami"); err == nil && resp.Status != http.StatusOK {
						err = fmt.Errorf("app answered %d", resp.Status)
					}
				case 2:
					var own *Pool
					if own, err = Connect(ctx, o); err == nil {
						err = queryInt(ctx, own, "SELECT $1::int", i)
						own.Close()
					}
				}
				ops[kind].Add(1)
				if err != nil {
					failed[kind].Add(1)
					mu.Lock()
					if len(firstErrors) < 5 {
						firstErrors = append(firstErrors, kinds[kind]+": "+err.Error())
					}
					mu.Unlock()
				}
				time.Sleep(time.Duration(rand.N(20)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	p.Close()
	after := e.Stats()
	open := openSessions(e, 0)
	left := soak.Settle(resources, 10*time.Second, func() {
		app.Client().CloseIdleConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})

	tokenRequests := after.Grants["client_credentials"] - before.Grants["client_credentials"]
	credentialRequests := after.CredentialsIssued - before.CredentialsIssued
	expected := elapsed.Seconds() / ttl.Seconds()
	figures := map[string]any{"workers": workers, "ttl_s": ttl.Seconds(), "run_s": fmt.Sprintf("%.1f", elapsed.Seconds()),
		"expected_requests_run_over_ttl":                     fmt.Sprintf("%.1f", expected),
		"expected_requests_renewing_at_3_4":                  fmt.Sprintf("%.1f", expected/0.75),
		"expected_requests_renewing_at_3_4_of_ttl_less_0.5s": fmt.Sprintf("%.1f", elapsed.Seconds()/(0.75*(ttl.Seconds()-0.5))),
		"token_requests":                                     tokenRequests, "credential_requests": credentialRequests,
		"gateway_logins":               after.GatewayLogins.Accepted - before.GatewayLogins.Accepted,
		"gateway_logins_refused":       after.GatewayLogins.Refused - before.GatewayLogins.Refused,
		"gateway_sessions_after_close": open, "goroutines_before": resources.Goroutines, "goroutines_after": left.Goroutines,
		"first_errors": firstErrors}
	var total, failures int64
	for k, kind := range kinds {
		figures[kind+" operations"], figures[kind+" failures"] = ops[k].Load(), failed[k].Load()
		total += ops[k].Load()
		failures += failed[k].Load()
	}
	figures["operations"], figures["failed_operations"] = total, failures
	soak.Record(t, "short-lived credentials under load", figures)
	if failures > 0 {
		t.Errorf("%d of %d operations failed; first: %q", failures, total, firstErrors)
	}
	// One request per renewal, at three quarters of the lifetime, give or
	// take the first and the one in flight at the end. The lifetime is the
	// TTL less up to a second: a token's is expires_in less a second from
	// when it was requested (auth's parseTokenResponse), a credential's
	// expiration_time is in whole seconds.
	most := run.Seconds()/(0.75*(ttl-time.Second).Seconds()) + 2
	for what, n := range map[string]int{"token": tokenRequests, "credential": credentialRequests} {
		if float64(n) < expected-1 || float64(n) > most {
			t.Errorf("%d %s requests in %s with a TTL of %s, want about %.0f to %.0f", n, what, elapsed.Round(time.Second), ttl, expected, most)
		}
	}
	if open != 0 {
		t.Errorf("%d gateway sessions open after every pool closed", open)
	}
}

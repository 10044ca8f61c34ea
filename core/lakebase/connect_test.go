package lakebase

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
)

// lakebaseConn is the connection string of e's Lakebase gateway for its
// service principal, plus extra; SSLMode is verify-full unless extra says.
func lakebaseConn(e *emulator.Emulator, extra string) string {
	info := e.Info()
	lb := info.Lakebase
	s := fmt.Sprintf("Host=%s;Server=%s;Port=%d;OAuthClientId=%s;OAuthClientSecret=%s;SSLServerCert=%s;%s",
		info.WorkspaceURL, lb.Host, lb.Port, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret, lb.CAFile, extra)
	if !strings.Contains(extra, "SSLMode") {
		s += ";SSLMode=verify-full"
	}
	return s
}

// bothWaits runs test with sessions that park in Go's network poller, and
// again, with a configuration of its own, with sessions that wait on the
// calling thread (ThreadWait, as the C library's are).
func bothWaits(t *testing.T, test func(t *testing.T, cfg *Config)) {
	for _, wait := range []bool{false, true} {
		t.Run(map[bool]string{false: "poller", true: "thread"}[wait], func(t *testing.T) {
			test(t, &Config{ThreadWait: wait})
		})
	}
}

// connect connects with the default configuration.
func connect(t testing.TB, s string) *Pool { t.Helper(); return connectWith(t, nil, s) }

// connectWith connects with cfg.
func connectWith(t testing.TB, cfg *Config, s string) *Pool {
	t.Helper()
	o, err := connstr.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// scalar runs a one-value query.
func scalar(t *testing.T, p *Pool, sql string) string {
	t.Helper()
	r, err := p.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatalf("%s: no row: %v", sql, r.Err())
	}
	v, err := r.Values()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(v[0])
}

func TestConnectWithMintedCredentials(t *testing.T) {
	e := testEmulator
	sp := e.Info().ServicePrincipal.ClientID
	for name, extra := range map[string]string{
		"provisioned instance": "Instance=" + e.Info().Lakebase.Instance,
		"autoscaling endpoint": "Endpoint=" + e.Info().Lakebase.Endpoint,
		"workspace token":      "",
		"require, no CA check": "Instance=" + e.Info().Lakebase.Instance + ";SSLMode=require",
	} {
		t.Run(name, func(t *testing.T) {
			p := connect(t, lakebaseConn(e, extra))
			if got := scalar(t, p, "SELECT current_user"); got != sp {
				t.Errorf("current_user %q, want the service principal %q", got, sp)
			}
			if p.User() != sp {
				t.Errorf("User() %q", p.User())
			}
		})
	}
}

// TestConnectAsUser: a user's PKCE login (stored refresh token) connects as
// the user's email, the default User.
func TestConnectAsUser(t *testing.T) {
	e := testEmulator
	ctx := context.Background()
	o, _ := connstr.Parse("Host=" + e.Info().WorkspaceURL)
	a, err := auth.GetOAuthAuthorizationURL(ctx, o, "http://localhost:8020", "", "")
	if err != nil {
		t.Fatal(err)
	}
	back, err := emulator.SignIn(ctx, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.GetOAuthAccessToken(ctx, o, back.Query().Get("code"), auth.AuthModeWeb, "http://localhost:8020", "", a.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	lb := e.Info().Lakebase
	p := connect(t, fmt.Sprintf("Host=%s;Server=%s;Port=%d;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthRefreshToken=%s;"+
		"OAuthSettingsLocation=memory://user-test;Instance=%s;SSLServerCert=%s;SSLMode=verify-full",
		e.Info().WorkspaceURL, lb.Host, lb.Port, tokens.OAuthRefreshToken, lb.Instance, lb.CAFile))
	if got := scalar(t, p, "SELECT current_user"); got != e.Info().User.Email {
		t.Errorf("current_user %q, want %q", got, e.Info().User.Email)
	}
}

// directPool connects to the backing PostgreSQL directly, with a
// password.
func directPool(t testing.TB) *Pool {
	u, _ := url.Parse(testEmulator.Info().Lakebase.PostgresURL)
	password, _ := u.User.Password()
	host, port, _ := net.SplitHostPort(u.Host)
	return connect(t, fmt.Sprintf("AuthScheme=Password;Server=%s;Port=%s;User=%s;Password=%s;SSLMode=disable",
		host, port, u.User.Username(), password))
}

// TestPasswordScheme connects to the backing PostgreSQL directly with a
// password.
func TestPasswordScheme(t *testing.T) {
	p := directPool(t)
	if got := scalar(t, p, "SELECT current_database()"); got != DefaultDatabase {
		t.Errorf("database %q", got)
	}
}

// TestPoolOutlivesCredentials: with credentials living 3 s, a pool whose
// sessions are replaced all the time runs queries from 8 goroutines for
// 15 s without one failure, minting about one credential per renewal
// period, not one per login.
func TestPoolOutlivesCredentials(t *testing.T) {
	e, err := emulator.Start(context.Background(), emulator.Config{TokenTTL: 3 * time.Second,
		PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := connect(t, lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance+";MaxConnections=4"))
	before := e.Stats()
	const duration = 15 * time.Second
	deadline := time.Now().Add(duration)
	var queries, failures atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				r, err := p.Query(context.Background(), "SELECT 1")
				if err == nil {
					for r.Next() {
					}
					err = r.Close()
				}
				queries.Add(1)
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	// New sessions log in all along: the pool's are replaced every 500 ms.
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		p.pool.Reset()
	}
	wg.Wait()
	after := e.Stats()
	minted := after.CredentialsIssued - before.CredentialsIssued
	logins := after.GatewayLogins.Accepted - before.GatewayLogins.Accepted
	t.Logf("%d queries, %d logins, %d credentials minted in %s", queries.Load(), logins, minted, duration)
	if failures.Load() != 0 {
		t.Errorf("%d of %d queries failed; first: %v", failures.Load(), queries.Load(), firstFailure.Load())
	}
	// Renewal happens a quarter of the lifetime ahead: every 2.25 s.
	if minted < 4 || minted > 12 {
		t.Errorf("%d credentials minted in %s with a 3 s lifetime, want about %d", minted, duration, int(duration/(2250*time.Millisecond)))
	}
	if logins < 3*minted {
		t.Errorf("only %d logins: the test did not replace sessions often enough to prove sharing", logins)
	}
}

// TestSessionOutlivesItsCredential: Lakebase checks the password at login
// only, and so does the emulator: an open session keeps working.
func TestSessionOutlivesItsCredential(t *testing.T) {
	e, err := emulator.Start(context.Background(), emulator.Config{TokenTTL: 2 * time.Second,
		PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := connect(t, lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance))
	c, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(2500 * time.Millisecond)
	r, err := c.Execute(context.Background(), "SELECT 42")
	if err != nil {
		t.Fatalf("a session opened before the credential expired: %v", err)
	}
	r.Close()
}

// TestExpiredCredentialCannotBeRenewed: a token given as is (OFF) that has
// expired is named as such.
func TestExpiredCredentialCannotBeRenewed(t *testing.T) {
	e, err := emulator.Start(context.Background(), emulator.Config{TokenTTL: time.Second, PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	o, _ := connstr.Parse(lakebaseConn(e, ""))
	src, _ := auth.NewTokenSource(o)
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	lb := e.Info().Lakebase
	off, _ := connstr.Parse(fmt.Sprintf("Host=%s;Server=%s;Port=%d;AuthScheme=OAuthPKCE;InitiateOAuth=OFF;OAuthAccessToken=%s;User=%s;SSLMode=require",
		e.Info().WorkspaceURL, lb.Host, lb.Port, tok.AccessToken, e.Info().ServicePrincipal.ClientID))
	_, err = Connect(context.Background(), off)
	if err == nil || !strings.Contains(err.Error(), "expired at") {
		t.Errorf("an expired token given as is: %v", err)
	}
}

// revokedPool connects to a fresh gateway (its own counters) with extra,
// then makes the pool's cached credential one the server refuses, as a
// revoked one would be, while lakelink still thinks it valid for an hour.
func revokedPool(t *testing.T, extra string) (*Pool, *emulator.Emulator) {
	e, err := emulator.Start(context.Background(), emulator.Config{PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	p := connect(t, lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance+extra))
	p.cred.mu.Lock()
	p.cred.password = "revoked-credential"
	p.cred.mu.Unlock()
	p.pool.Reset()
	return p, e
}

// TestRefusedLoginRenewsOnce: a credential the server refuses is renewed
// once and the login retried.
func TestRefusedLoginRenewsOnce(t *testing.T) {
	p, e := revokedPool(t, "")
	before := e.Stats()
	if got := scalar(t, p, "SELECT 1"); got != "1" {
		t.Fatalf("got %q", got)
	}
	after := e.Stats()
	if d := after.CredentialsIssued - before.CredentialsIssued; d != 1 {
		t.Errorf("%d credentials minted after a refused login, want 1", d)
	}
	if d := after.GatewayLogins.Refused - before.GatewayLogins.Refused; d != 1 {
		t.Errorf("%d refused logins, want 1", d)
	}
}

// TestRefusedLoginsRenewOnce: logins refused at once for the same
// credential renew it once between them, not once each.
func TestRefusedLoginsRenewOnce(t *testing.T) {
	p, e := revokedPool(t, ";MaxConnections=8")
	before := e.Stats()
	var wg sync.WaitGroup
	conns := make(chan *Conn, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			conns <- c
		}()
	}
	wg.Wait()
	close(conns)
	for c := range conns {
		c.Close()
	}
	after := e.Stats()
	t.Logf("%d logins refused", after.GatewayLogins.Refused-before.GatewayLogins.Refused)
	if d := after.CredentialsIssued - before.CredentialsIssued; d != 1 {
		t.Errorf("%d credentials minted for 8 logins refused together, want 1", d)
	}
}

// TestForcedRenewalOfWorkspaceToken: with the workspace token as the
// password, a refused one is replaced by a new token, not the cached one.
func TestForcedRenewalOfWorkspaceToken(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, ""))
	ctx := context.Background()
	before, _, err := p.cred.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := p.cred.renew(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Error("renewing a refused workspace token returned it again")
	}
	if again, _ := p.cred.renew(ctx, before); again != after {
		t.Error("renewing the same refused token twice minted twice")
	}
}

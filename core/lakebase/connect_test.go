package lakebase

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"runtime"
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

func connect(t *testing.T, s string) *Pool {
	t.Helper()
	o, err := connstr.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Connect(context.Background(), o)
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
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
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

// TestPasswordScheme connects to the backing PostgreSQL directly with a
// password.
func TestPasswordScheme(t *testing.T) {
	u, _ := url.Parse(testEmulator.Info().Lakebase.PostgresURL)
	password, _ := u.User.Password()
	host, port, _ := net.SplitHostPort(u.Host)
	p := connect(t, fmt.Sprintf("AuthScheme=Password;Server=%s;Port=%s;User=%s;Password=%s;SSLMode=disable",
		host, port, u.User.Username(), password))
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
	before := stats(t, e)
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
	after := stats(t, e)
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

func TestConnectionErrors(t *testing.T) {
	e := testEmulator
	info := e.Info()
	wrongCA := otherCA(t)
	for name, tc := range map[string]struct {
		conn, sqlstate string
		want           []string
	}{
		"user mismatch": {lakebaseConn(e, "Instance="+info.Lakebase.Instance+";User=someone@example.com"), "28P01",
			[]string{"someone@example.com", "not the token's principal", info.ServicePrincipal.ClientID, "127.0.0.1"}},
		"no TLS":               {lakebaseConn(e, "Instance="+info.Lakebase.Instance+";SSLMode=disable"), "28000", []string{"TLS required"}},
		"wrong CA verify-full": {strings.Replace(lakebaseConn(e, ""), "SSLServerCert="+info.Lakebase.CAFile, "SSLServerCert='"+wrongCA+"'", 1), "", []string{"certificate"}},
		"server down":          {strings.Replace(lakebaseConn(e, ""), fmt.Sprintf("Port=%d", info.Lakebase.Port), "Port="+deadPort(t), 1), "", []string{"cannot connect", "refused"}},
		"outsider":             {strings.NewReplacer(info.ServicePrincipal.ClientID, info.Outsider.ClientID, info.ServicePrincipal.ClientSecret, info.Outsider.ClientSecret).Replace(lakebaseConn(e, "Instance="+info.Lakebase.Instance)), "", []string{"permission"}},
	} {
		t.Run(name, func(t *testing.T) {
			o, err := connstr.Parse(tc.conn)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Connect(context.Background(), o)
			if err == nil {
				t.Fatal("connected")
			}
			var lbErr *Error
			if tc.sqlstate != "" && (!errors.As(err, &lbErr) || lbErr.SQLState != tc.sqlstate) {
				t.Errorf("error %v, want SQLSTATE %s", err, tc.sqlstate)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{info.ServicePrincipal.ClientSecret, info.Outsider.ClientSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Error("the error holds a client secret")
				}
			}
		})
	}
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

func TestTransactionsAndCancel(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exec := func(sql string, args ...any) *Result {
		t.Helper()
		r, err := c.Execute(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		for r.Next() {
		}
		r.Close()
		return r
	}
	exec("CREATE TEMP TABLE tx_test (n int)")
	c.SetAutocommit(false)
	exec("INSERT INTO tx_test VALUES ($1), ($2)", 1, 2)
	if err := c.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	r := exec("INSERT INTO tx_test VALUES ($1)", 3)
	if r.CommandTag() != "INSERT 0 1" || r.RowsAffected() != 1 {
		t.Errorf("command tag %q, rows affected %d", r.CommandTag(), r.RowsAffected())
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	c.SetAutocommit(true)
	r, _ = c.Execute(ctx, "SELECT sum(n) FROM tx_test")
	r.Next()
	v, _ := r.Values()
	r.Close()
	if fmt.Sprint(v[0]) != "3" {
		t.Errorf("after rollback and commit: sum %v, want 3", v[0])
	}

	done := make(chan error, 1)
	go func() {
		r, err := c.Execute(ctx, "SELECT pg_sleep(10)")
		if err == nil {
			for r.Next() {
			}
			err = r.Close()
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := c.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	var lbErr *Error
	if err := <-done; !errors.As(err, &lbErr) || lbErr.SQLState != "57014" {
		t.Fatalf("cancelled statement: %v, want SQLSTATE 57014", err)
	}
	exec("SELECT 1") // the session is still usable
}

// TestMillionRowsStreamInBoundedMemory reads a million rows in batches and
// watches the heap.
func TestMillionRowsStreamInBoundedMemory(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	r, err := p.Query(context.Background(), "SELECT g, repeat('x', 100) FROM generate_series(1, 1000000) AS g")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows int
	var peak uint64
	var m runtime.MemStats
	for batches := 0; ; batches++ {
		b, err := r.NextBatch(DefaultFormat, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		rows += batchRows(t, b)
		if batches%20 == 0 {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	if rows != 1000000 || r.CommandTag() != "SELECT 1000000" {
		t.Errorf("%d rows, tag %q", rows, r.CommandTag())
	}
	// The whole result is over 100 MB as Go values; a batch is about 1 MB.
	if peak > 64<<20 {
		t.Errorf("heap peaked at %d MiB while streaming", peak>>20)
	}
	t.Logf("heap peak %d MiB", peak>>20)
}

// stats reads an emulator's counters.
func stats(t *testing.T, e *emulator.Emulator) emulator.Stats {
	t.Helper()
	resp, err := http.Get(e.Info().AdminURL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s emulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func deadPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// otherCA returns the PEM of a CA that did not sign the gateway's
// certificate.
func otherCA(t *testing.T) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestRefusedLoginRenewsOnce: a credential the server refuses (revoked,
// say) is renewed once and the login retried.
func TestRefusedLoginRenewsOnce(t *testing.T) {
	e, err := emulator.Start(context.Background(), emulator.Config{PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p := connect(t, lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance))
	p.cred.mu.Lock()
	p.cred.password = "revoked-credential" // still "valid" for an hour as far as lakelink knows
	p.cred.mu.Unlock()
	p.pool.Reset()
	before := stats(t, e)
	if got := scalar(t, p, "SELECT 1"); got != "1" {
		t.Fatalf("got %q", got)
	}
	after := stats(t, e)
	if d := after.CredentialsIssued - before.CredentialsIssued; d != 1 {
		t.Errorf("%d credentials minted after a refused login, want 1", d)
	}
	if d := after.GatewayLogins.Refused - before.GatewayLogins.Refused; d != 1 {
		t.Errorf("%d refused logins, want 1", d)
	}
}

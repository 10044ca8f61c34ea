package lakebase

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
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
func connect(t *testing.T, s string) *Pool { t.Helper(); return connectWith(t, nil, s) }

// connectWith connects with cfg.
func connectWith(t *testing.T, cfg *Config, s string) *Pool {
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
func directPool(t *testing.T) *Pool {
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

func TestConnectionErrors(t *testing.T) {
	e := testEmulator
	info := e.Info()
	wrongCA := otherCA(t)
	for name, tc := range map[string]struct {
		conn, sqlstate string
		want           []string
	}{
		"user mismatch": {lakebaseConn(e, "Instance="+info.Lakebase.Instance+";User=someone@example.com"), "28P01",
			[]string{"user someone@example.com is not the principal of this token (" + info.ServicePrincipal.ClientID + ")", "127.0.0.1"}},
		"no TLS": {lakebaseConn(e, "Instance="+info.Lakebase.Instance+";SSLMode=disable"), "28000",
			[]string{"TLS required by server: use SSLMode=require (or verify-full)"}},
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

func TestTransactionsAndCancel(t *testing.T) { bothWaits(t, testTransactionsAndCancel) }

func testTransactionsAndCancel(t *testing.T, cfg *Config) {
	p := connectWith(t, cfg, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
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
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
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
	if err := c.SetAutocommit(true); err != nil {
		t.Fatal(err)
	}
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
	before, err := p.cred.get(ctx)
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

// TestSetAutocommitWithOpenTransaction: switching autocommit while a
// transaction is open is refused, as psycopg does, and the transaction's
// writes are then committed by Commit, not lost.
func TestSetAutocommitWithOpenTransaction(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	ctx := context.Background()
	table := fmt.Sprintf("autocommit_%d", time.Now().UnixNano())
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run := func(sql string) {
		t.Helper()
		r, err := c.Execute(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		r.Close()
	}
	run("CREATE TABLE " + table + " (x int)")
	defer func() {
		if r, err := p.Query(ctx, "DROP TABLE "+table); err == nil {
			r.Close()
		}
	}()
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAutocommit(false); err != nil { // no change, no transaction yet
		t.Fatal(err)
	}
	run("INSERT INTO " + table + " VALUES (1)")
	if err := c.SetAutocommit(true); err == nil || !strings.Contains(err.Error(), "commit or roll back first") {
		t.Fatalf("switching autocommit on in a transaction: %v", err)
	}
	if err := c.SetAutocommit(false); err != nil { // no change
		t.Fatal(err)
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAutocommit(true); err != nil {
		t.Fatalf("after Commit: %v", err)
	}
	run("INSERT INTO " + table + " VALUES (2)")
	c.Close()
	if err := c.SetAutocommit(false); err != ErrClosed {
		t.Errorf("on a closed Conn: %v", err)
	}
	if got := scalar(t, p, "SELECT count(*) FROM "+table); got != "2" {
		t.Errorf("%s rows after Close, want 2", got)
	}
}

// TestOpenSharesOnePoolPerString: Opens of one connection string share
// one pool, connected once; a string whose server does not answer does
// not hold up another's.
func TestOpenSharesOnePoolPerString(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accepts and never answers
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	stuck, _ := connstr.Parse(fmt.Sprintf("AuthScheme=Password;Server=127.0.0.1;Port=%d;User=u;Password=p;Timeout=10",
		silent.Addr().(*net.TCPAddr).Port))
	stuckDone := make(chan error, 1)
	go func() {
		_, err := Open(context.Background(), stuck)
		stuckDone <- err
	}()
	time.Sleep(200 * time.Millisecond) // the stuck Open is connecting

	o, _ := connstr.Parse(lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+";MaxConnections=8"))
	start := time.Now()
	var wg sync.WaitGroup
	conns := make([]*Conn, 8)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open(context.Background(), o)
			if err != nil {
				t.Error(err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %s while another string was connecting", d)
	}
	for _, c := range conns {
		if c == nil {
			continue
		}
		if c.pool != conns[0].pool {
			t.Error("two pools for one connection string")
		}
		c.Close()
	}
	select {
	case err := <-stuckDone:
		t.Errorf("the silent server's Open ended early: %v", err)
	default:
	}
}

// TestLakebaseHostAsHost: a Lakebase host given as Host (alias
// DatabricksInstance) is the Server, and the workspace comes from the
// Databricks configuration, never from that host.
func TestLakebaseHostAsHost(t *testing.T) {
	const instance = "instance-0123.database.cloud.databricks.com"
	t.Setenv("HOME", t.TempDir()) // no ~/.databrickscfg
	t.Setenv("DATABRICKS_CONFIG_FILE", "")
	t.Setenv("DATABRICKS_CONFIG_PROFILE", "")
	t.Setenv("DATABRICKS_HOST", "")
	for _, host := range []string{instance, "https://" + instance + "/"} {
		o, err := connstr.Parse("DatabricksInstance=" + host + ";OAuthClientId=id;OAuthClientSecret=secret")
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := poolConfig(o); err != nil || cfg.ConnConfig.Host != instance {
			t.Errorf("%s: not the server: %v", host, err)
		}
		if _, err := new(Config).workspace(o); err == nil || !strings.Contains(err.Error(), "is a Lakebase host") ||
			!strings.Contains(err.Error(), "DATABRICKS_HOST") {
			t.Errorf("%s without a workspace: %v", host, err)
		}
	}
	o, _ := connstr.Parse("Host=" + instance + ";Server=other.example.com;OAuthClientId=id;OAuthClientSecret=secret")
	if cfg, err := poolConfig(o); err != nil || cfg.ConnConfig.Host != "other.example.com" {
		t.Errorf("Server given: %v", err)
	}
	ws := testEmulator.Info().WorkspaceURL
	t.Setenv("DATABRICKS_HOST", ws)
	w, err := new(Config).workspace(o)
	if err != nil || auth.WorkspaceURL(w) != ws || w.OAuthClientID != "id" {
		t.Errorf("workspace %+v, %v", w, err)
	}
	if o.Host != instance {
		t.Errorf("the caller's options changed: Host %q", o.Host)
	}
	given, _ := connstr.Parse("Host=https://adb-1.azuredatabricks.net;Server=" + instance)
	if w, err := new(Config).workspace(given); err != nil || w != given {
		t.Errorf("a workspace Host: %+v, %v", w, err)
	}
}

// TestLogin: what psql gets. verify-full without SSLServerCert trusts the
// system's roots (sslrootcert is the system's CA bundle, SSL_CERT_FILE
// here); PEM text is written once to a file named by its hash, reused by
// later logins.
func TestLogin(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bundle := systemBundleFile(t)
	info := testEmulator.Info()
	o, _ := connstr.Parse(strings.Replace(lakebaseConn(testEmulator, "Instance="+info.Lakebase.Instance), ";SSLServerCert="+info.Lakebase.CAFile, "", 1))
	l, err := Login(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if l.SSLRootCert != bundle || l.SSLMode != "verify-full" || l.User != info.ServicePrincipal.ClientID || l.Password == "" {
		t.Errorf("verify-full without SSLServerCert: %v", l)
	}
	if s := fmt.Sprintf("%v %+v %s", l, l, *l); strings.Contains(s, l.Password) {
		t.Errorf("the password is printed: %s", s)
	}

	pem, err := os.ReadFile(info.Lakebase.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	o.SSLServerCert = string(pem)
	first, err := Login(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Login(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if first.SSLRootCertPEM != string(pem) {
		t.Errorf("SSLRootCertPEM %q, want the PEM text", first.SSLRootCertPEM)
	}
	if got, _ := os.ReadFile(first.SSLRootCert); first.SSLRootCert != second.SSLRootCert || string(got) != string(pem) {
		t.Errorf("CA files %q and %q", first.SSLRootCert, second.SSLRootCert)
	}
	if files, _ := os.ReadDir(filepath.Dir(first.SSLRootCert)); len(files) != 1 {
		t.Errorf("%d files in the CA directory, want 1", len(files))
	}
}

// TestOpenWhenEverySessionIsTaken: a shared pool whose sessions are all
// held makes Open fail after Timeout, saying why, instead of waiting.
func TestOpenWhenEverySessionIsTaken(t *testing.T) {
	o, err := connstr.Parse(lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+";MaxConnections=2;Timeout=1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var held []*Conn
	for range 2 {
		c, err := Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	start := time.Now()
	_, err = Open(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "all 2 sessions") || time.Since(start) > 3*time.Second {
		t.Errorf("a third Open: %v after %v", err, time.Since(start))
	}
	held[0].Close()
	c, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
	c.Close()
	held[1].Close()
}

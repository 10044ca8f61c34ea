package lakebase

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
)

// This file tests the login for pools that are not lakelink's own
// (connector.go) and ConfigurePool, against the emulator.

// shortTTLEmulator starts an emulator, over the test emulator's server,
// whose tokens and credentials live ttl.
func shortTTLEmulator(t *testing.T, ttl time.Duration) *emulator.Emulator {
	t.Helper()
	e, err := emulator.Start(context.Background(), emulator.Config{PostgresURL: testEmulator.Info().Lakebase.PostgresURL, TokenTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestConfigurePoolAcrossExpiry: a program's own pgxpool, configured by
// ConfigurePool, logs in as the token's principal over verify-full and
// keeps logging in new sessions with renewed credentials after the first
// ones expired; its own BeforeConnect still runs.
func TestConfigurePoolAcrossExpiry(t *testing.T) {
	e := shortTTLEmulator(t, 3*time.Second)
	ctx := context.Background()
	o, err := connstr.Parse(lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance+";ApplicationName=own-pgxpool"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig("pool_max_conns=2")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConnLifetime = 300 * time.Millisecond // every session is replaced often
	var ownCalls atomic.Int32
	cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error { ownCalls.Add(1); return nil }
	cfg2 := &Config{}
	defer cfg2.Close()
	if err := cfg2.ConfigurePool(ctx, cfg, o); err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.User != e.Info().ServicePrincipal.ClientID || cfg.ConnConfig.Password != "" || cfg.ConnConfig.TLSConfig == nil {
		t.Fatalf("user %q, password given %v, TLS %v", cfg.ConnConfig.User, cfg.ConnConfig.Password != "", cfg.ConnConfig.TLSConfig != nil)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	before := e.Stats()
	deadline := time.Now().Add(7 * time.Second) // past two credentials' lifetimes
	for n := 0; time.Now().Before(deadline); n++ {
		var user, app string
		if err := pool.QueryRow(ctx, "SELECT current_user, current_setting('application_name')").Scan(&user, &app); err != nil {
			t.Fatalf("query %d: %v", n, err)
		}
		if user != cfg.ConnConfig.User || app != "own-pgxpool" {
			t.Fatalf("user %q, application_name %q", user, app)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := e.Stats()
	if d := after.CredentialsIssued - before.CredentialsIssued; d < 2 {
		t.Errorf("%d credentials minted in 7 s of 3 s credentials, want 2 or more", d)
	}
	if d := after.GatewayLogins.Refused - before.GatewayLogins.Refused; d != 0 {
		t.Errorf("%d logins refused", d)
	}
	if n := ownCalls.Load(); n < 3 {
		t.Errorf("the pool's own BeforeConnect ran %d times", n)
	}
}

// TestConfigurePoolReportsAWrongToken: ConfigurePool finds the user at
// once, so a token that cannot be had is its error, not the pool's.
func TestConfigurePoolReportsAWrongToken(t *testing.T) {
	o, err := connstr.Parse(lakebaseConn(testEmulator, ""))
	if err != nil {
		t.Fatal(err)
	}
	o.OAuthClientSecret = "wrong"
	cfg, _ := pgxpool.ParseConfig("")
	err = (&Config{}).ConfigurePool(context.Background(), cfg, o)
	if err == nil {
		t.Fatal("no error")
	}
	if cfg.BeforeConnect != nil {
		t.Error("cfg changed by a failed ConfigurePool")
	}
}

// TestConnectorRenewsARefusedCredential: Connector.Login renews a
// credential the server refused and logs in once more, as Open does.
func TestConnectorRenewsARefusedCredential(t *testing.T) {
	p, e := revokedPool(t, "")
	o, _ := connstr.Parse(lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance))
	k, err := NewConnector(o) // the pool's credential: one per identity and instance
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	ctx := context.Background()
	var c *pgx.Conn
	err = k.Login(ctx, func(ctx context.Context) (err error) {
		cc := k.ConnConfig()
		if err := k.BeforeConnect(ctx, cc); err != nil {
			return err
		}
		c, err = pgx.ConnectConfig(ctx, cc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	after := e.Stats()
	if d := after.CredentialsIssued - before.CredentialsIssued; d != 1 {
		t.Errorf("%d credentials minted after a refused login, want 1", d)
	}
	if d := after.GatewayLogins.Refused - before.GatewayLogins.Refused; d != 1 {
		t.Errorf("%d refused logins, want 1", d)
	}
	if got := scalar(t, p, "SELECT 1"); got != "1" {
		t.Errorf("got %q", got)
	}
}

// TestConnectorLoginError: a login the server refuses is an *Error in
// lakelink's words.
func TestConnectorLoginError(t *testing.T) {
	o, _ := connstr.Parse(lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance+";User=someone.else@example.com"))
	k, err := (&Config{}).NewConnector(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = k.Login(ctx, func(ctx context.Context) error {
		cc := k.ConnConfig()
		if err := k.BeforeConnect(ctx, cc); err != nil {
			return err
		}
		c, err := pgx.ConnectConfig(ctx, cc)
		if err == nil {
			c.Close(ctx)
		}
		return err
	})
	var lbErr *Error
	if !errors.As(err, &lbErr) || lbErr.SQLState != "28P01" {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
}

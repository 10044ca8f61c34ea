package stdlib_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/core/lakebase/stdlib"
)

// TestSQLOpen: sql.Open("lakelink", connection string) logs in as the
// token's principal over TLS and runs statements with parameters.
func TestSQLOpen(t *testing.T) {
	db, err := sql.Open("lakelink", connString("ApplicationName=sql-open"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user, app string
	var ssl bool
	var sum int64
	err = db.QueryRow("SELECT current_user, current_setting('application_name'), "+
		"(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), $1::int8 + $2", 40, 2).Scan(&user, &app, &ssl, &sum)
	if err != nil {
		t.Fatal(err)
	}
	if user != testEmulator.Info().ServicePrincipal.ClientID || app != "sql-open" || sum != 42 {
		t.Errorf("user %q, application_name %q, sum %d", user, app, sum)
	}
	if _, ok := db.Driver().(stdlib.Driver); !ok {
		t.Errorf("driver %T", db.Driver())
	}
}

// TestSQLOpenRefusesABadConnectionString: sql.Open reports a connection
// string that does not parse, naming the key, without the secret.
func TestSQLOpenRefusesABadConnectionString(t *testing.T) {
	_, err := sql.Open("lakelink", "Host=https://x.cloud.databricks.com;Bogus=1;OAuthClientSecret=s3cret")
	if err == nil || !strings.Contains(err.Error(), "Bogus") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
}

// TestOpenDBAcrossExpiry: a *sql.DB whose sessions are replaced often
// keeps working across several credential lifetimes, from many
// goroutines, each new session with a current credential, and is sized
// by the connection string.
func TestOpenDBAcrossExpiry(t *testing.T) {
	o, err := connstr.Parse(connString("MaxConnections=3"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &lakebase.Config{}
	defer cfg.Close()
	db, err := stdlib.OpenDB(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetConnMaxLifetime(300 * time.Millisecond)
	before := testEmulator.Stats()
	deadline := time.Now().Add(2*testTTL + time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				var n int
				if err := db.QueryRow("SELECT count(*) FROM generate_series(1, 100)").Scan(&n); err != nil || n != 100 {
					errs <- errors.Join(err, errors.New("wrong count"))
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after := testEmulator.Stats()
	if d := after.CredentialsIssued - before.CredentialsIssued; d < 2 {
		t.Errorf("%d credentials minted over two lifetimes, want 2 or more", d)
	}
	// A login may still be refused, on a loaded machine, with a credential
	// that expired on its way (it is renewed in the last quarter of its 3 s):
	// the driver then renews it and logs in again, which no query sees.
	t.Logf("%d logins refused and tried again", after.GatewayLogins.Refused-before.GatewayLogins.Refused)
	if s := db.Stats(); s.MaxOpenConnections != 3 {
		t.Errorf("MaxOpenConnections %d, want 3", s.MaxOpenConnections)
	}
}

// TestLoginError: a refused login is lakelink's *lakebase.Error, which
// says why.
func TestLoginError(t *testing.T) {
	db, err := sql.Open("lakelink", connString("User=someone.else@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(context.Background())
	var lbErr *lakebase.Error
	if !errors.As(err, &lbErr) || lbErr.SQLState != "28P01" || !strings.Contains(err.Error(), "not the principal of this token") {
		t.Fatalf("got %v", err)
	}
}

// TestTransactionAndTypes: database/sql transactions, and values as pgx's
// stdlib gives them.
func TestTransactionAndTypes(t *testing.T) {
	db, err := sql.Open("lakelink", connString(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the temporary table lives in that one session
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS t (id int PRIMARY KEY, doc jsonb, amount numeric(12,2))"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES ($1, $2, $3)", 1, `{"n": 12345678901234567890}`, "0.00"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES ($1, $2, $3)", 2, `{"n": 12345678901234567890}`, "0.00"); err != nil {
		t.Fatal(err)
	}
	var ids []int
	rows, err := db.QueryContext(ctx, "SELECT id, doc, amount FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var doc, amount any
		if err := rows.Scan(&id, &doc, &amount); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if string(doc.([]byte)) != `{"n": 12345678901234567890}` || amount != "0.00" {
			t.Errorf("doc %s, amount %v", doc, amount)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != 2 {
		t.Errorf("ids %v: the rolled back row is there", ids)
	}
}

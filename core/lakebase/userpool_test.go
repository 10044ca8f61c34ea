package lakebase

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
)

// userEmulator starts an emulator whose app has user authorization on
// (user API scope sql), sharing testEmulator's PostgreSQL, for the test.
func userEmulator(t testing.TB, ttl time.Duration) *emulator.Emulator {
	t.Helper()
	e, err := emulator.Start(context.Background(), emulator.Config{AppUserAPIScopes: []string{"sql"}, TokenTTL: ttl,
		PostgresURL: testEmulator.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// forwardedToken adds the user email to e (when new) and returns the
// token the app receives for a request of theirs: a new browser session's
// token calls the app's /api/echo, which shows the X-Forwarded-Access-Token
// the platform added.
func forwardedToken(t testing.TB, e *emulator.Emulator, email string) string {
	t.Helper()
	ctx := context.Background()
	session, err := e.AddUser(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	app, err := apps.New(e.Info().AppURL, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: session}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := app.Get(ctx, "/api/echo")
	if err != nil {
		t.Fatal(err)
	}
	var echo struct{ Headers http.Header }
	if err := json.Unmarshal(r.Body, &echo); err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Header: echo.Headers}
	token, err := apps.UserToken(req)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// appPool connects e's service principal (the App's own identity) with
// the extra properties, through cfg.
func appPool(t testing.TB, cfg *Config, e *emulator.Emulator, extra string) *Pool {
	t.Helper()
	o, err := connstr.Parse(lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance+";"+extra))
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

// rlsTable creates a table with a row-level security policy on
// current_user, through an administrator's session of the backing
// PostgreSQL, holding rows rows for each user, and returns its name.
func rlsTable(t testing.TB, users []string, rows int) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testEmulator.Info().Lakebase.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	table := fmt.Sprintf("user_rows_%d", rand.Uint32())
	for _, sql := range []string{
		"CREATE TABLE " + table + " (owner text NOT NULL, n int NOT NULL)",
		"ALTER TABLE " + table + " ENABLE ROW LEVEL SECURITY",
		"CREATE POLICY own_rows ON " + table + " USING (owner = current_user)",
		"GRANT SELECT ON " + table + " TO PUBLIC",
		"INSERT INTO " + table + " SELECT u, n FROM unnest($1::text[]) u, generate_series(1, $2) n",
	} {
		args := []any{}
		if strings.HasPrefix(sql, "INSERT") {
			args = []any{users, rows}
		}
		if _, err := admin.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, testEmulator.Info().Lakebase.PostgresURL); err == nil {
			c.Exec(ctx, "DROP TABLE "+table)
			c.Close(ctx)
		}
	})
	return table
}

// ownRows reads table as the holder of token, and checks that every row
// is user's and that there are want of them.
func ownRows(ctx context.Context, p *Pool, token, table, user string, want int) error {
	r, err := p.AsUser(token).Query(ctx, "SELECT owner, current_user FROM "+table)
	if err != nil {
		return err
	}
	defer r.Close()
	n := 0
	for r.Next() {
		v, err := r.Values()
		if err != nil {
			return err
		}
		if v[0] != user || v[1] != user {
			return fmt.Errorf("%s saw a row of %v as %v", user, v[0], v[1])
		}
		n++
	}
	if err := r.Close(); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("%s saw %d rows, want %d", user, n, want)
	}
	return nil
}

// TestAsUserRowLevelSecurity: each App user, acting through the App's
// pool with the token the platform forwarded, logs in as themself and
// sees only their own rows.
func TestAsUserRowLevelSecurity(t *testing.T) {
	e := userEmulator(t, 0)
	users := []string{"ana@example.com", "bo@example.com", "cy@example.com"}
	tokens := map[string]string{}
	for _, u := range users {
		tokens[u] = forwardedToken(t, e, u)
	}
	table := rlsTable(t, users, 3)
	p := appPool(t, nil, e, "")
	ctx := context.Background()
	for _, u := range users {
		if err := ownRows(ctx, p, tokens[u], table, u, 3); err != nil {
			t.Error(err)
		}
	}
	if got := scalar(t, p, "SELECT count(*) FROM "+table); got != "0" {
		t.Errorf("the App's own identity sees %s rows, want none (the policy lets each user see their own)", got)
	}
	if s := p.Stats(); s.Users != len(users) || s.UserSessions != len(users) {
		t.Errorf("Stats: %d users, %d user sessions; want %d of each", s.Users, s.UserSessions, len(users))
	}
}

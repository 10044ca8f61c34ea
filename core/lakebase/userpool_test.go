package lakebase

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/internal/soak"
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

// TestAsUserNextToken: a user's next token uses the sessions their first
// one opened (the same server process), and new logins use the newest
// token: once the first has expired, a new session opens without a login
// refused. The expired token itself is refused before any login.
func TestAsUserNextToken(t *testing.T) {
	const ttl = 4 * time.Second
	e := userEmulator(t, ttl)
	ctx := context.Background()
	const user = "dee@example.com"
	first := forwardedToken(t, e, user)
	firstExpiry := auth.Describe(first).ExpiresAt
	p := appPool(t, nil, e, "MaxUserConnections=2")

	c, err := p.AsUser(first).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := backendPID(t, c)
	c.Close()

	time.Sleep(ttl / 2)
	next := forwardedToken(t, e, user)
	c1, err := p.AsUser(next).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if got := backendPID(t, c1); got != pid {
		t.Errorf("the next token's session is process %d, want the first token's, %d", got, pid)
	}

	time.Sleep(time.Until(firstExpiry) + 200*time.Millisecond)
	refused := e.Stats().GatewayLogins.Refused
	c2, err := p.AsUser(next).Acquire(ctx) // c1 is held: a new login
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := backendPID(t, c2); got == pid {
		t.Errorf("a second session while the first is held is the same process %d", got)
	}
	if n := e.Stats().GatewayLogins.Refused - refused; n != 0 {
		t.Errorf("%d logins refused: the new login used the expired token, not the newest", n)
	}
	if s := p.Stats(); s.Users != 1 || s.UserSessions != 2 {
		t.Errorf("Stats: %d users, %d user sessions; want 1 and 2", s.Users, s.UserSessions)
	}

	_, err = p.AsUser(first).Acquire(ctx)
	if err == nil || !strings.Contains(err.Error(), "expired at") || strings.Contains(err.Error(), first) {
		t.Errorf("the expired token: %v, want an error saying it expired, without the token", err)
	}
}

// pkceToken is an access token of e's own user with scope, from the
// authorization-code flow with PKCE.
func pkceToken(t *testing.T, e *emulator.Emulator, scope string) string {
	t.Helper()
	ctx := context.Background()
	o, _ := connstr.Parse("Host=" + e.Info().WorkspaceURL + ";Scope=" + scope)
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
	return tokens.OAuthAccessToken
}

// jwt is an unsigned JWT with these claims.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
}

// TestAsUserBadTokens: each bad token is a clear error that does not
// repeat it, and leaves nothing cached: no verified token, no user's pool.
func TestAsUserBadTokens(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	good := forwardedToken(t, e, "eve@example.com")
	other, err := testEmulator.AddUser(ctx, "eve@example.com") // the same user in another workspace
	if err != nil {
		t.Fatal(err)
	}
	p := appPool(t, nil, e, "")
	future, past := time.Now().Add(time.Hour).Unix(), time.Now().Add(-time.Minute).Unix()
	for _, c := range []struct {
		name, token, want string
		malformed         bool // wraps an *auth.BearerTokenError
	}{
		{"another workspace's", other, "did not accept the App user's access token", false},
		{"not signed by the workspace", jwt(map[string]any{"sub": "eve@example.com", "exp": future}), "did not accept", false},
		{"expired", jwt(map[string]any{"sub": "eve@example.com", "exp": past}), "expired at", false},
		{"without iam.current-user:read", pkceToken(t, e, "sql"), "iam.current-user:read", false},
		{"two in a list", good + "," + good, "comma-separated list", true},
		{"two with a space", good + " " + good, "spaces", true},
		{"1 MB", good + strings.Repeat("A", 1<<20), "more than the 64 KiB", true},
		{"empty", "", "empty", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.AsUser(c.token).Acquire(ctx)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q, want it to say %q", msg, c.want)
			}
			var tokenErr *UserTokenError
			var shapeErr *auth.BearerTokenError
			if !errors.As(err, &tokenErr) || errors.As(err, &shapeErr) != c.malformed {
				t.Errorf("error %#v, want a *UserTokenError, of a malformed token %v", err, c.malformed)
			}
			for _, part := range strings.Split(c.token, ".") {
				if len(part) > 8 && strings.Contains(msg, part[:8]) {
					t.Errorf("the error repeats the token: %q", msg)
				}
			}
			if n, m := p.users.tokens.verified.Len(), p.users.pools.Len(); n != 0 || m != 0 {
				t.Errorf("cached: %d verified tokens, %d users' pools", n, m)
			}
		})
	}
	if err := ownRows(ctx, p, good, rlsTable(t, []string{"eve@example.com"}, 1), "eve@example.com", 1); err != nil {
		t.Errorf("the good token, after the bad ones: %v", err)
	}
}

// TestAsUserManyTokens: 500 distinct user tokens (50 users with 10 each;
// 500 users with 2 in the long version) through one App pool with
// MaxUsers=20 and MaxUserConnections=2, 16 goroutines issuing requests as
// random users. No user ever sees another's rows; the server's sessions
// of these users stay within MaxUsers*MaxUserConnections plus one per
// goroutine (a session in use when its user's pool is evicted finishes
// first); after Close none is left, and goroutines and open files are
// back to their count before.
func TestAsUserManyTokens(t *testing.T) {
	const maxUsers, maxUserConnections, workers = 20, 2, 16
	nUsers, perUser, requests := soak.Pick(50, 500), soak.Pick(10, 2), soak.Pick(2000, 10000)
	e := userEmulator(t, 0)
	ctx := context.Background()
	users := make([]string, nUsers)
	tokens := make([][]string, nUsers)
	for i := range users {
		users[i] = fmt.Sprintf("many%03d@example.com", i)
		for range perUser {
			tokens[i] = append(tokens[i], forwardedToken(t, e, users[i]))
		}
	}
	table := rlsTable(t, users, 2)
	admin, err := pgx.Connect(ctx, testEmulator.Info().Lakebase.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	serverSessions := func() int {
		var n int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'many%@example.com'").Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	cfg := &Config{Auth: &auth.Config{HTTPTransport: transport}}

	before := soak.Count()
	start := time.Now()
	p := appPool(t, cfg, e, fmt.Sprintf("MaxUsers=%d;MaxUserConnections=%d", maxUsers, maxUserConnections))
	var most atomic.Int64 // the most server sessions seen
	var statsMost atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if n := int64(serverSessions()); n > most.Load() {
				most.Store(n)
			}
			if n := int64(p.Stats().UserSessions); n > statsMost.Load() {
				statsMost.Store(n)
			}
		}
	}()
	var next, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(requests) {
				i := rand.IntN(nUsers)
				if err := ownRows(ctx, p, tokens[i][rand.IntN(perUser)], table, users[i], 2); err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	stats := p.Stats()
	p.Close()
	left := -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left = serverSessions(); left == 0 {
			break
		}
	}
	admin.Close(ctx)
	after := soak.Settle(before, 10*time.Second, transport.CloseIdleConnections)

	bound := maxUsers*maxUserConnections + workers
	soak.Record(t, "as_user_many_tokens", map[string]any{
		"users": nUsers, "tokens": nUsers * perUser, "requests": requests, "workers": workers,
		"max_users": maxUsers, "max_user_connections": maxUserConnections, "failed": failed.Load(),
		"max_server_sessions": most.Load(), "max_stats_user_sessions": statsMost.Load(), "bound": bound,
		"seconds": elapsed.Seconds(), "requests_per_second": float64(requests) / elapsed.Seconds(),
		"sessions_left": left, "before": before, "after": after,
	})
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed; the first: %v", failed.Load(), requests, firstErr)
	}
	if most.Load() > int64(bound) {
		t.Errorf("up to %d server sessions of the users, more than the bound %d", most.Load(), bound)
	}
	if statsMost.Load() > int64(bound) {
		t.Errorf("Stats: up to %d user sessions, more than the bound %d", statsMost.Load(), bound)
	}
	if stats.Users > maxUsers {
		t.Errorf("Stats: %d users' pools, more than MaxUsers %d", stats.Users, maxUsers)
	}
	if left != 0 {
		t.Errorf("%d server sessions left after Close", left)
	}
	if after.Goroutines > before.Goroutines || after.OpenFiles > before.OpenFiles {
		t.Errorf("after Close: %+v, before the pool: %+v", after, before)
	}
}

// TestUserCredential: a user's pool's credential gives each login the
// user's newest token; a login refused with an older one gets the newest;
// the newest refused is an error that does not repeat it, which Acquire
// words as the user's token refused.
func TestUserCredential(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	const user = "fay@example.com"
	older, newer := forwardedToken(t, e, user), forwardedToken(t, e, user)
	p := appPool(t, nil, e, "")
	up, err := p.users.pool(ctx, older)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := up.cred.get(ctx); got != older {
		t.Error("the first login does not use the user's token")
	}
	if again, _ := p.users.pool(ctx, newer); again != up {
		t.Error("the user's next token opened another pool")
	}
	if got, _, _ := up.cred.get(ctx); got != newer {
		t.Error("a login after the user's next token does not use it")
	}
	if got, err := up.cred.renew(ctx, older); err != nil || got != newer {
		t.Errorf("the older token refused: %v, and not the newest", err)
	}
	_, err = up.cred.renew(ctx, newer)
	if err == nil || strings.Contains(err.Error(), strings.Split(newer, ".")[2]) {
		t.Errorf("the newest token refused: %v, want an error without the token", err)
	}

	// A real 28P01, as Acquire words it for a user.
	o, _ := connstr.Parse(lakebaseConn(e, "AuthScheme=Password;User="+user+";Password="+newer+"x"))
	_, err = (&Config{}).Connect(ctx, o)
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if msg := p.users.error(err).Error(); !strings.Contains(msg, "the user's access token was refused") || !strings.Contains(msg, "28P01") {
		t.Errorf("a refused login, as Acquire words it: %s", msg)
	}
}

// TestAsUserBusy: a user whose MaxUserConnections sessions are all in use
// waits PoolTimeout, then is told which limit to raise; other users are
// not held up.
func TestAsUserBusy(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	busy, other := forwardedToken(t, e, "hal@example.com"), forwardedToken(t, e, "ida@example.com")
	p := appPool(t, nil, e, "MaxUserConnections=1;PoolTimeout=300ms")
	c, err := p.AsUser(busy).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = p.AsUser(busy).Acquire(ctx)
	if !errors.Is(err, ErrPoolTimeout) || !strings.Contains(err.Error(), "MaxUserConnections=1") {
		t.Errorf("a second session of a user with MaxUserConnections=1: %v", err)
	}
	c2, err := p.AsUser(other).Acquire(ctx)
	if err != nil {
		t.Fatalf("another user: %v", err)
	}
	c2.Close()
}

// BenchmarkAsUserQuery: a query through AsUser on a user's warm pool,
// against the same query on the App's own pool; and what AsUser adds:
// finding the user's pool (the token's check, its hash, two cache
// look-ups).
func BenchmarkAsUserQuery(b *testing.B) {
	e := userEmulator(b, 0)
	token := forwardedToken(b, e, "bench@example.com")
	p := appPool(b, nil, e, "")
	ctx := context.Background()
	for name, query := range map[string]func() (*Result, error){
		"pool":    func() (*Result, error) { return p.Query(ctx, "SELECT 1") },
		"as_user": func() (*Result, error) { return p.AsUser(token).Query(ctx, "SELECT 1") },
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r, err := query()
				if err != nil {
					b.Fatal(err)
				}
				for r.Next() {
				}
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("find_pool", func(b *testing.B) {
		for b.Loop() {
			if _, err := p.users.pool(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAsUserIdleAndClose: a user unseen for UserIdleTime is evicted and
// their idle session closed; Pool.Close closes the users' idle sessions
// at once, while one in use works on until it is returned.
func TestAsUserIdleAndClose(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	idle, busy := forwardedToken(t, e, "jo@example.com"), forwardedToken(t, e, "kai@example.com")
	p := appPool(t, nil, e, "UserIdleTime=1")
	if err := ownRows(ctx, p, idle, rlsTable(t, []string{"jo@example.com"}, 1), "jo@example.com", 1); err != nil {
		t.Fatal(err)
	}
	before := e.Stats().Open.Gateway
	time.Sleep(1500 * time.Millisecond)
	if s := p.Stats(); s.Users != 0 || s.UserSessions != 0 {
		t.Errorf("after UserIdleTime: %d users, %d user sessions; want none", s.Users, s.UserSessions)
	}
	if n := openSessions(e, before-1); n != before-1 {
		t.Errorf("after UserIdleTime: %d gateway sessions, want %d", n, before-1)
	}

	c, err := p.AsUser(busy).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.AsUser(idle).Query(ctx, "SELECT 1") // a second user, idle at Close
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	sessions := e.Stats().Open.Gateway
	p.Close()
	if n := openSessions(e, sessions-2); n != sessions-2 { // the App's own session and the idle user's
		t.Errorf("after Close: %d gateway sessions, want %d (the session in use)", n, sessions-2)
	}
	if got := backendPID(t, c); got == 0 {
		t.Error("no answer on the session in use")
	}
	c.Close()
	if n := openSessions(e, 0); n != 0 {
		t.Errorf("after the last session was returned: %d gateway sessions, want 0", n)
	}
	if _, err := p.AsUser(busy).Acquire(ctx); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("AsUser after Close: %v, want ErrPoolClosed", err)
	}
}

// TestAsUserInUseIsNotIdle: a user whose only activity is a session held
// longer than UserIdleTime (a long stream or transaction) keeps their
// pool: their next session comes from it, within MaxUserConnections,
// and giving the session back is a use.
func TestAsUserInUseIsNotIdle(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	token := forwardedToken(t, e, "lou@example.com")
	p := appPool(t, nil, e, "UserIdleTime=2;MaxUserConnections=1;PoolTimeout=300ms")
	c, err := p.AsUser(token).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := backendPID(t, c)
	time.Sleep(2500 * time.Millisecond) // longer than UserIdleTime
	if s := p.Stats(); s.Users != 1 || s.UserSessions != 1 {
		t.Errorf("a user with a session in use past UserIdleTime: %d users, %d sessions; want 1 and 1", s.Users, s.UserSessions)
	}
	if c2, err := p.AsUser(token).Acquire(ctx); !errors.Is(err, ErrPoolTimeout) {
		if err == nil {
			c2.Close()
		}
		t.Errorf("a second session with MaxUserConnections=1 while the first is in use: %v, want ErrPoolTimeout", err)
	}
	time.Sleep(time.Second) // the session in use for 3.8 s
	c.Close()
	time.Sleep(time.Second) // given back 1 s ago: not yet idle
	c, err = p.AsUser(token).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := backendPID(t, c); got != pid {
		t.Errorf("the user's next session is %d, want their pool's %d", got, pid)
	}
}

// TestAsUserEvictedInUse: a user evicted (beyond MaxUsers) with a session
// in use keeps that session, counted in UserSessions, until it is given
// back, which closes it; so does Pool.Close.
func TestAsUserEvictedInUse(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	first, second := forwardedToken(t, e, "mo@example.com"), forwardedToken(t, e, "ned@example.com")
	p := appPool(t, nil, e, "MaxUsers=1")
	c, err := p.AsUser(first).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.AsUser(second).Query(ctx, "SELECT 1") // evicts the first user, whose session is in use
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if s := p.Stats(); s.Users != 1 || s.UserSessions != 2 {
		t.Errorf("the first user evicted with a session in use: %d users, %d sessions; want 1 and 2", s.Users, s.UserSessions)
	}
	if backendPID(t, c) == 0 {
		t.Error("no answer on the evicted user's session")
	}
	open := e.Stats().Open.Gateway
	c.Close()
	if n := openSessions(e, open-1); n != open-1 {
		t.Errorf("the evicted user's session given back: %d gateway sessions, want %d", n, open-1)
	}
	if s := p.Stats(); s.UserSessions != 1 {
		t.Errorf("the evicted user's session given back: %d user sessions, want 1", s.UserSessions)
	}

	c, err = p.AsUser(first).Acquire(ctx) // evicts the second user, idle
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if s := p.Stats(); s.UserSessions != 1 {
		t.Errorf("after Close, a user's session in use: %d user sessions, want it counted", s.UserSessions)
	}
	c.Close()
	if s := p.Stats(); s.UserSessions != 0 {
		t.Errorf("after Close, the user's session given back: %d user sessions, want 0", s.UserSessions)
	}
	if n := openSessions(e, 0); n != 0 {
		t.Errorf("after Close and the last session given back: %d gateway sessions, want 0", n)
	}
}

// TestUserPoolHidesTheToken: no verb prints a UserPool's token.
func TestUserPoolHidesTheToken(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
	u := (*Pool)(nil).AsUser(token)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{u, *u} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, token[:8]) || strings.Contains(out, fmt.Sprintf("%x", token[:8])) {
				t.Errorf("%s shows the token: %s", verb, out)
			}
		}
	}
}

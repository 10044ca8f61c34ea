package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// usersAdd adds a user through e's admin endpoint and returns its token,
// checking the answer's status (201 for a new user, 200 for one that
// exists) and shape.
func usersAdd(t *testing.T, e *Emulator, email string, status int) string {
	t.Helper()
	r := do(t, "POST", e.Info().AdminURL+"/users", "", strings.NewReader(`{"email": "`+email+`"}`), "Content-Type", "application/json")
	wantStatus(t, r, status)
	token, _ := r.body["access_token"].(string)
	if len(r.body) != 2 || r.body["email"] != email || token == "" {
		t.Fatalf("POST /_emulator/users answered %s, want exactly email and access_token", r.raw)
	}
	return token
}

// usersEcho calls e's app at /api/echo with token and returns the headers
// the app received.
func usersEcho(t *testing.T, e *Emulator, token string) http.Header {
	t.Helper()
	r := do(t, "GET", e.Info().AppURL+"/api/echo", token, nil)
	wantStatus(t, r, http.StatusOK)
	var echoed struct{ Headers http.Header }
	if err := json.Unmarshal([]byte(r.raw), &echoed); err != nil {
		t.Fatal(err)
	}
	return echoed.Headers
}

// usersMe returns the SCIM id and userName that e's SCIM Me answers for
// token.
func usersMe(t *testing.T, e *Emulator, token string) (id, userName string) {
	t.Helper()
	r := do(t, "GET", e.Info().WorkspaceURL+restMePath, token, nil)
	wantStatus(t, r, http.StatusOK)
	return restString(r.body, "id"), restString(r.body, "userName")
}

// TestAdminUsers: POST /_emulator/users adds a user, or gives an existing
// one a new token, and refuses what is not an email, other fields, and
// users beyond the bound.
func TestAdminUsers(t *testing.T) {
	info := shared.Info()
	email := "admin-users-" + randomHex(4) + "@example.com"
	first := usersAdd(t, shared, email, http.StatusCreated)
	again := usersAdd(t, shared, email, http.StatusOK)
	if again == first {
		t.Error("adding an existing user again returned the same token, want a new one")
	}
	for _, token := range []string{first, again} {
		claims, err := shared.signer.verify(token, time.Now())
		if err != nil || claims.Subject != email || claims.Kind != kindUser || claims.Scope != "all-apis offline_access dashboards.genie" {
			t.Fatalf("the user's token: %v, %+v; want a user token with the browser session's scopes", err, claims)
		}
		restWantTimeNear(t, "the user's token expiry", claims.ExpiresAt(), time.Now().Add(shared.cfg.TokenTTL), 5*time.Second)
	}
	id, userName := usersMe(t, shared, first)
	demoID, _ := usersMe(t, shared, userToken(t, shared, "all-apis"))
	if userName != email || id == "" || id == demoID {
		t.Errorf("SCIM Me of the added user: id %q userName %q; want its own id (the demo user's is %s) and %s", id, userName, demoID, email)
	}
	if againID, _ := usersMe(t, shared, again); againID != id {
		t.Errorf("the same email got SCIM id %s, then %s", id, againID)
	}
	// The demo user exists already: a token, no new user.
	if _, name := usersMe(t, shared, usersAdd(t, shared, info.User.Email, http.StatusOK)); name != info.User.Email {
		t.Errorf("the demo user's new token is %s's", name)
	}

	for _, tc := range []struct{ body, code, mention string }{
		{`{"email": "nobody"}`, "INVALID_PARAMETER_VALUE", "nobody"},
		{`{"email": "a b@example.com"}`, "INVALID_PARAMETER_VALUE", "no spaces"},
		{`{}`, "INVALID_PARAMETER_VALUE", "want an email address"},
		{`{"email": "x@example.com", "admin": true}`, "MALFORMED_REQUEST", "admin"},
	} {
		r := do(t, "POST", info.AdminURL+"/users", "", strings.NewReader(tc.body), "Content-Type", "application/json")
		restWantError(t, r, http.StatusBadRequest, tc.code, tc.mention)
	}
	r := do(t, "POST", info.AdminURL+"/users", "", strings.NewReader(`{"email": "x@example.com"}`), "Content-Type", "text/plain")
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("a text/plain POST: %d, want 415", r.status)
	}

	// The bound: a full emulator still answers for the users it has.
	e := startEmulator(t, Config{})
	if _, err := e.AddUser(context.Background(), "kept@example.com"); err != nil {
		t.Fatal(err)
	}
	e.dir.mu.Lock()
	e.dir.added = maxAddedUsers
	e.dir.mu.Unlock()
	r = do(t, "POST", e.Info().AdminURL+"/users", "", strings.NewReader(`{"email": "one-too-many@example.com"}`), "Content-Type", "application/json")
	restWantError(t, r, http.StatusBadRequest, "RESOURCE_LIMIT_EXCEEDED", "10000")
	usersAdd(t, e, "kept@example.com", http.StatusOK)
	if _, err := e.AddUser(context.Background(), "one-too-many@example.com"); !errors.Is(err, errTooManyUsers) {
		t.Errorf("AddUser beyond the bound: %v", err)
	}
}

// TestAppUserAuthorization: two users added through the admin endpoint
// call the app; with user authorization on, the app receives for each a
// token of that user restricted to the app's user API scopes and
// Databricks' defaults, which reads SCIM Me, cannot mint credentials, and
// logs in to Lakebase as that user (and no other), whose role the
// administrator may grant rights on a table before its first login.
func TestAppUserAuthorization(t *testing.T) {
	ctx := context.Background()
	info := shared.Info()
	suffix := randomHex(4)
	emails := []string{"alice-" + suffix + "@example.com", "bob-" + suffix + "@example.com"}
	tokens := map[string]string{}
	for _, email := range emails {
		tokens[email] = usersAdd(t, shared, email, http.StatusCreated)
	}

	// The administrator grants alice, not bob, a table, before either
	// has logged in: the roles exist, named after the emails.
	table := pgx.Identifier{"users_test_" + suffix}.Sanitize()
	for _, stmt := range []string{
		"CREATE TABLE " + table + " (owner text, v int)",
		"INSERT INTO " + table + " VALUES ('alice', 1)",
		"GRANT SELECT ON " + table + " TO " + pgx.Identifier{emails[0]}.Sanitize(),
	} {
		if _, err := shared.admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { shared.admin.Exec(context.Background(), "DROP TABLE "+table) })

	forwardedTokens := map[string]string{}
	for _, email := range emails {
		h := usersEcho(t, shared, tokens[email])
		forwarded := restWantForwarded(t, shared, h, tokens[email], email, restForwardedScope)
		forwardedTokens[email] = forwarded
		id, userName := usersMe(t, shared, forwarded) // it holds iam.current-user:read
		if userName != email || h.Get("X-Forwarded-Email") != email || h.Get("X-Forwarded-User") != id+"@"+info.WorkspaceID {
			t.Errorf("%s: SCIM Me %s %s, X-Forwarded-Email %q, X-Forwarded-User %q", email, id, userName,
				h.Get("X-Forwarded-Email"), h.Get("X-Forwarded-User"))
		}
		if again := usersEcho(t, shared, tokens[email]).Get("X-Forwarded-Access-Token"); again != forwarded {
			t.Errorf("%s: a second request with the same token forwarded another token", email)
		}
		// No all-apis: no credentials, no other REST API.
		for _, path := range []string{"/api/2.0/database/credentials", "/api/2.0/postgres/credentials"} {
			r := do(t, "POST", info.WorkspaceURL+path, forwarded, strings.NewReader(`{}`), "Content-Type", "application/json")
			restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", "all-apis")
		}
		r := do(t, "GET", info.WorkspaceURL+"/api/2.0/apps/"+info.AppName, forwarded, nil)
		restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", "all-apis")

		// The forwarded token logs in to Lakebase as its user.
		pgLogin(t, shared, email, forwarded, "sslmode=require")
	}
	alice, bob := emails[0], emails[1]
	wantLoginError(t, shared, bob, forwardedTokens[alice], "sslmode=require", "28P01", "is not the token's principal")

	// The grant applies: alice reads the table, bob may not.
	read := func(email string) error {
		conn, err := pgConnect(shared, email, forwardedTokens[email], "sslmode=require")
		if err != nil {
			t.Fatalf("login as %s: %v", email, err)
		}
		defer conn.Close(ctx)
		var owner string
		return conn.QueryRow(ctx, "SELECT owner FROM "+table).Scan(&owner)
	}
	if err := read(alice); err != nil {
		t.Errorf("alice, granted SELECT, reads the table: %v", err)
	}
	var pgErr *pgconn.PgError
	if err := read(bob); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("bob, not granted, reads the table: %v; want permission denied (42501)", err)
	}

	// A caller's token narrower than the app's scopes is not widened: the
	// forwarded token keeps only Databricks' defaults of what it lacks.
	narrow := userToken(t, shared, "sql")
	restWantForwarded(t, shared, usersEcho(t, shared, narrow), narrow, info.User.Email, "iam.current-user:read iam.access-control:read")
	// Service principals get no user token.
	if h := usersEcho(t, shared, m2mToken(t, shared, info.ServicePrincipal, "all-apis")); h.Get("X-Forwarded-Access-Token") != "" {
		t.Error("a service principal's request carried X-Forwarded-Access-Token")
	}
}

// TestAppUserAuthorizationOff: without AppUserAPIScopes, the app receives
// no X-Forwarded-Access-Token, reports no user API scopes, and its browser
// sign-in asks for none.
func TestAppUserAuthorizationOff(t *testing.T) {
	e := startEmulator(t, Config{})
	token, err := e.AddUser(context.Background(), "off-"+randomHex(4)+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if claims, _ := e.signer.verify(token, time.Now()); claims == nil || claims.Scope != "all-apis offline_access" {
		t.Errorf("the added user's token: %+v, want scope all-apis offline_access", claims)
	}
	h := usersEcho(t, e, token)
	if _, ok := h["X-Forwarded-Access-Token"]; ok {
		t.Error("X-Forwarded-Access-Token sent with user authorization off")
	}
	if h.Get("X-Forwarded-Email") == "" {
		t.Errorf("no X-Forwarded-Email in %v", h)
	}
	r := do(t, "GET", e.Info().WorkspaceURL+"/api/2.0/apps/"+appName, token, nil)
	wantStatus(t, r, http.StatusOK)
	if r.body["user_api_scopes"] != nil || r.body["effective_user_api_scopes"] != nil {
		t.Errorf("an app without user authorization reports scopes: %s", r.raw)
	}
	r = do(t, "GET", e.Info().AppURL+"/", "", nil)
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || err != nil || loc.Query().Get("scope") != "all-apis offline_access" {
		t.Errorf("the browser sign-in: %d to %s, want a redirect asking for all-apis offline_access", r.status, loc)
	}
}

// TestAppUserAPIScopesChecked: the configuration takes known user API
// scopes only, once each.
func TestAppUserAPIScopesChecked(t *testing.T) {
	for _, bad := range []string{"all-apis", "offline_access", "genie", ""} {
		c := Config{AppUserAPIScopes: []string{"sql", bad}}
		if err := c.applyDefaults(); err == nil || !strings.Contains(err.Error(), "app user API scope") {
			t.Errorf("scope %q: %v", bad, err)
		}
	}
	c := Config{AppUserAPIScopes: []string{"sql", "iam.current-user:read", "sql"}}
	if err := c.applyDefaults(); err != nil || strings.Join(c.AppUserAPIScopes, " ") != "sql iam.current-user:read" {
		t.Errorf("%v %v", err, c.AppUserAPIScopes)
	}
}

// TestAdminUsersConcurrent: users added at once, from many goroutines,
// each get their own SCIM id and role.
func TestAdminUsersConcurrent(t *testing.T) {
	const n = 200
	prefix := "many-" + randomHex(4) + "-"
	start := time.Now()
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			tokens[i], err = shared.AddUser(context.Background(), fmt.Sprintf("%s%d@example.com", prefix, i))
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d users added in %s", n, time.Since(start).Round(time.Millisecond))
	ids := map[int64]bool{}
	for i := range n {
		p := shared.dir.principalByName(fmt.Sprintf("%s%d@example.com", prefix, i))
		if p == nil || ids[p.ID] {
			t.Fatalf("user %d: %+v (ids so far %d)", i, p, len(ids))
		}
		ids[p.ID] = true
	}
	var roles int
	if err := shared.admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", prefix+"%").Scan(&roles); err != nil || roles != n {
		t.Errorf("%d roles (%v), want %d", roles, err, n)
	}
}

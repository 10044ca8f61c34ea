package apps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/auth"
)

func TestLoginRedirect(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/moved":
			http.Redirect(w, r, "/api/elsewhere", http.StatusTemporaryRedirect)
		default:
			http.Redirect(w, r, "/oidc/v1/authorize?client_id=app&state=s3cr3t-state", http.StatusFound)
		}
	})

	app := newApp(t, srv.URL, static(testJWT))
	r, err := app.Get(context.Background(), "/api/data")
	e := appError(t, err)
	wantKind(t, e, KindLoginRedirect, 302,
		"redirected the request to the browser sign-in ("+srv.URL+"/oidc/v1/authorize)",
		"the request did not carry a usable bearer token, so the platform sent it to the browser sign-in",
		"A bearer token was sent (of user dev.user@example.com)")
	if strings.Contains(e.Diagnosis, "s3cr3t-state") {
		t.Error("the diagnosis repeats the sign-in URL's query")
	}
	if r == nil || r.Status != 302 || r.Header.Get("Location") == "" {
		t.Fatalf("Response: %+v", r)
	}
	if srv.authAt(0) != "Bearer "+testJWT {
		t.Fatalf("the server got Authorization %q", srv.authAt(0))
	}

	// Client does not follow the redirect either: the caller sees it.
	resp, err := app.Client().Get(srv.URL + "/api/data")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || srv.hits.Load() != 2 {
		t.Fatalf("Client: %d after %d requests", resp.StatusCode, srv.hits.Load())
	}

	// No token at all.
	empty := newApp(t, srv.URL, oauth2.StaticTokenSource(&oauth2.Token{}))
	_, err = empty.Get(context.Background(), "/api/data")
	wantKind(t, appError(t, err), KindLoginRedirect, 302, "No bearer token was sent: the token source returned an empty access token.")
	if got := srv.authAt(-1); got != "" {
		t.Fatalf("an empty token was sent as %q", got)
	}

	// A redirect elsewhere is not a sign-in, and is not followed.
	_, err = app.Get(context.Background(), "/api/moved")
	wantKind(t, appError(t, err), KindHTTP, 307, "redirect to "+srv.URL+"/api/elsewhere", "lakelink does not follow redirects")
}

func TestStatusDiagnoses(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/crash":
			writeJSON(w, 500, map[string]string{"error_code": "INTERNAL_ERROR", "message": "boom"})
		case "/api/busy":
			w.Header().Set("Retry-After", "7")
			writeJSON(w, 429, map[string]string{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"})
		case "/api/starting":
			w.WriteHeader(503)
			io.WriteString(w, "upstream connect error\nor disconnect/reset before headers")
		case "/api/method":
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, 405, map[string]any{"detail": "Method Not Allowed"})
		case "/api/invalid":
			writeJSON(w, 422, map[string]any{"detail": []map[string]any{{"loc": []string{"body", "x"}, "msg": "field required"}}})
		case "/api/oauth":
			w.Header().Set("WWW-Authenticate", `Bearer realm="app", error="insufficient_scope", scope="sql", error_description="needs sql"`)
			writeJSON(w, 403, map[string]string{"error": "insufficient_scope", "error_description": "the token needs scope sql"})
		case "/api/rest-scope":
			writeJSON(w, 403, map[string]string{"error_code": "PERMISSION_DENIED",
				"message": "Provided OAuth token does not have required scopes: all-apis or sql (it has: files)"})
		case "/api/echo-token":
			writeJSON(w, 401, map[string]string{"message": "bad token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
		case "/api/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(404)
			io.WriteString(w, "<!doctype html><html><head><title>App\n  Not Found</title></head><body>…</body></html>")
		}
	})
	app := newApp(t, srv.URL, static(testJWT))
	for _, c := range []struct {
		path, kind string
		status     int
		want       []string
	}{
		{"/api/crash", KindHTTP, 500, []string{"500 Internal Server Error: boom", "read its logs"}},
		{"/api/busy", KindHTTP, 429, []string{"slow down", "retry later (Retry-After: 7)"}},
		{"/api/starting", KindHTTP, 503, []string{"503 Service Unavailable: upstream connect error\n", "it may be starting"}},
		{"/api/method", KindHTTP, 405, []string{": Method Not Allowed\n", "it takes GET, HEAD."}},
		{"/api/invalid", KindHTTP, 422, []string{`[{"loc":["body","x"],"msg":"field required"}]`, "The app refused the request"}},
		{"/api/oauth", KindForbidden, 403, []string{"insufficient_scope: the token needs scope sql",
			"The token lacks a scope this route requires: sql.", "The token's scopes: all-apis offline_access.",
			`lakelink login --scopes "all-apis offline_access sql"`}},
		{"/api/rest-scope", KindForbidden, 403, []string{"requires: all-apis or sql.", // all-apis is there: suggest sql
			`lakelink login --scopes "all-apis offline_access sql"`}},
		{"/api/echo-token", KindUnauthorized, 401, []string{"bad token " + redacted, "has not expired",
			"this one was issued by https://ws.example.com/oidc"}},
		{"/api/html", KindNotFound, 404, []string{"404 Not Found: App Not Found\n"}},
	} {
		r, err := app.Get(context.Background(), c.path)
		e := appError(t, err)
		wantKind(t, e, c.kind, c.status, c.want...)
		if r == nil || r.Status != c.status {
			t.Errorf("%s: Response %+v", c.path, r)
		}
	}
}

func TestDiagnosisForServicePrincipalScopes(t *testing.T) {
	sp := fakeJWT(map[string]any{"sub": "6f1c2a3b-1234-4abc-9def-0123456789ab", "scope": "all-apis"})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, map[string]string{"message": "The access token is missing the scope sql required by /api/q"})
	})
	_, err := newApp(t, srv.URL, static(sp)).Get(context.Background(), "/api/q")
	wantKind(t, appError(t, err), KindForbidden, 403, "The token lacks a scope this route requires: sql.",
		"The token is service principal 6f1c2a3b-1234-4abc-9def-0123456789ab's: ask for the scope when getting its token, with Scope=all-apis sql in the connection string.")
}

func TestPlatformMessage(t *testing.T) {
	long := strings.Repeat("é", 400)
	for _, c := range []struct{ ctype, body, want string }{
		{"application/json", `{"error_code":"NOT_FOUND","message":"no such app"}`, "no such app"},
		{"application/json", `{"error_code":"NOT_FOUND"}`, "NOT_FOUND"},
		{"application/json", `{"error":"invalid_token","error_description":"expired"}`, "invalid_token: expired"},
		{"application/json", `{"error":"invalid_token"}`, "invalid_token"},
		{"application/json", `{"error":{"code":3,"message":"nested"}}`, "nested"},
		{"application/json", `{"detail":"Not authenticated"}`, "Not authenticated"},
		{"application/json", `{"detail":{"reason":"x"}}`, `{"reason":"x"}`},
		{"application/json", `{"other":1}`, `{"other":1}`},
		{"text/plain", "\n\n  first line  \nsecond", "first line"},
		{"text/html", "<html><title>Sign in</title></html>", "Sign in"},
		{"text/html", "<html><body>no title</body></html>", ""},
		{"text/plain", "", ""},
		{"text/plain", long, long[:500] + "…"},
		{"text/plain", "x" + long, "x" + long[:498] + "…"}, // cut before a split character
	} {
		h := http.Header{"Content-Type": {c.ctype}}
		if got := platformMessage(h, []byte(c.body)); got != c.want {
			t.Errorf("platformMessage(%q) = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestMissingScope(t *testing.T) {
	for msg, want := range map[string]string{
		"The access token is missing the scope dashboards.genie required by /api/genie (it has: all-apis)": "dashboards.genie",
		"Provided OAuth token does not have required scopes: all-apis or sql (it has: files)":              "all-apis or sql",
		"missing scopes: sql, files.":                           "sql, files",
		"This route requires scope 'serving.serving-endpoints'": "serving.serving-endpoints",
		"scope `iam.current-user:read` is required":             "iam.current-user:read",
		"insufficient scope":                                    "",
		"the scope is missing":                                  "",
	} {
		if got := missingScope(msg); got != want {
			t.Errorf("missingScope(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestScopesToAdd(t *testing.T) {
	tok := tokenInfo{auth.TokenInfo{Readable: true, Scopes: []string{"all-apis", "files"}}}
	for missing, want := range map[string]string{
		"sql":                      "sql",
		"all-apis or sql":          "sql",
		"sql or files":             "sql",
		"files or all-apis":        "",
		"sql, files":               "sql",
		"sql and dashboards.genie": "sql dashboards.genie",
	} {
		if got := strings.Join(scopesToAdd(missing, tok), " "); got != want {
			t.Errorf("scopesToAdd(%q) = %q, want %q", missing, got, want)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	got := parseChallenge(`Bearer realm="app, one", error="invalid_token", error_description="the \"token\" expired", scope=sql, Basic realm="x"`)
	want := map[string]string{"realm": "app, one", "error": "invalid_token", "error_description": `the "token" expired`, "scope": "sql"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseChallenge = %v, want %v", got, want)
	}
	if got := parseChallenge("Bearer"); len(got) != 0 {
		t.Errorf("no parameters: %v", got)
	}
}

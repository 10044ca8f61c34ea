package apps

// Tests against httptest servers, for what the emulator does not do.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/auth"
)

// fakeJWT is a JWT whose payload holds claims; its signature is junk.
func fakeJWT(claims map[string]any) string {
	payload, _ := json.Marshal(claims)
	tok := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz"
	issued.Store(tok, true)
	return tok
}

var testJWT = fakeJWT(map[string]any{"sub": "dev.user@example.com", "scope": "all-apis offline_access",
	"exp": float64(time.Now().Add(time.Hour).Unix()), "iss": "https://ws.example.com/oidc"})

// server is an httptest server that records what it received.
type server struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	auth []string // Authorization headers received
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// authAt returns the Authorization header of the i-th request (from the
// end when i is negative).
func (s *server) authAt(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 {
		i += len(s.auth)
	}
	return s.auth[i]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestNewRejects(t *testing.T) {
	src := static(testJWT)
	for _, c := range []struct{ url, want string }{
		{"", "the app URL is empty"},
		{"   ", "the app URL is empty"},
		{"my-app.databricksapps.com", "no scheme"},
		{"ftp://host", `the scheme is "ftp"; it must be https`},
		{"https://", "no host"},
		{"https://:8080", "no host"},
		{"https://host/api/whoami", `it has the path "/api/whoami"; give the app's base URL`},
		{"https://host/?a=1", "must not have a query"},
		{"https://host/#x", "must not have a fragment"},
		{"https://host:", "the port after the colon is missing"},
		{"https://host:http", "not a URL"},
		{"https://jane:hunter2-secret@host", "must not carry a user name or password"},
		{"https://jane:hunter2-secret@host:99999999999x", "not a URL"},
	} {
		_, err := New(c.url, src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q) = %v, want an error saying %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("New(%q) repeats the password: %v", c.url, err)
		}
	}
	if _, err := New("https://host", nil); err == nil || !strings.Contains(err.Error(), "no token source") {
		t.Errorf("New without a token source: %v", err)
	}
}

func TestNewNormalises(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://My-App.Example.COM/": "https://my-app.example.com",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"https://[::1]:8443/":         "https://[::1]:8443",
	} {
		a, err := New(in, static(testJWT))
		if err != nil || a.URL() != want {
			t.Errorf("New(%q).URL() = %q, %v; want %q", in, a.URL(), err, want)
		}
	}
}

func TestOptions(t *testing.T) {
	a := newApp(t, "https://host", static(testJWT))
	if c := a.Client(); c.Timeout != 60*time.Second || c.CheckRedirect == nil {
		t.Errorf("default client: timeout %v", c.Timeout)
	}
	if tr, ok := a.base.(*http.Transport); !ok || tr.Proxy == nil || tr == http.DefaultTransport {
		t.Errorf("default transport should be a clone of http.DefaultTransport with a proxy function: %T", a.base)
	}
	custom := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	if a := newApp(t, "https://host", static(testJWT), WithHTTPClient(custom)); a.Client().Timeout != 5*time.Second || a.base != custom.Transport {
		t.Errorf("WithHTTPClient: timeout %v", a.Client().Timeout)
	}
	if a := newApp(t, "https://host", static(testJWT), WithTimeout(time.Second), WithHTTPClient(custom)); a.Client().Timeout != time.Second {
		t.Errorf("WithTimeout wins whatever the order: %v", a.Client().Timeout)
	}
	if a := newApp(t, "https://host", static(testJWT), WithHTTPClient(&http.Client{})); a.Client().Timeout != 60*time.Second || a.base != http.DefaultTransport {
		t.Errorf("a zero client keeps the default timeout and uses http.DefaultTransport: %v %T", a.Client().Timeout, a.base)
	}
}

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

// closeTracker is a request body that records whether it was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestTransportRefusesBeforeSending(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	other := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	src := static(testJWT)
	app := newApp(t, srv.URL, src)
	rt := app.Transport(nil)
	for _, c := range []struct{ url, kind string }{
		{srv.URL + "/", KindNotAPIPath},
		{srv.URL + "/index.html", KindNotAPIPath},
		{srv.URL + "/api", KindNotAPIPath},
		{srv.URL + "//api/x/../../login", KindNotAPIPath},
		{other.URL + "/api/whoami", KindOtherHost},
		{strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/api/whoami", KindOtherHost},
	} {
		body := &closeTracker{Reader: strings.NewReader("x")}
		req, _ := http.NewRequest("POST", c.url, body)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			t.Fatalf("%s: a response", c.url)
		}
		e := appError(t, err)
		if e.Kind != c.kind || e.Op != "POST "+c.url {
			t.Errorf("%s: kind %q op %q", c.url, e.Kind, e.Op)
		}
		if !body.closed.Load() {
			t.Errorf("%s: the body of a refused request was not closed", c.url)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	_, err := rt.RoundTrip(req)
	if e := appError(t, err); !strings.Contains(e.Message, "/api (without the final slash) is not an /api/ route") {
		t.Errorf("/api: %q", e.Message)
	}
	if srv.hits.Load() != 0 || other.hits.Load() != 0 || src.calls.Load() != 0 {
		t.Fatalf("refused requests were sent (%d, %d) or asked for tokens (%d)", srv.hits.Load(), other.hits.Load(), src.calls.Load())
	}

	// Admitted: the token replaces the caller's Authorization, on a copy.
	req, _ = http.NewRequest("GET", srv.URL+"/api/x/../whoami", nil)
	req.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.authAt(0) != "Bearer "+testJWT || req.Header.Get("Authorization") != "Basic Zm9vOmJhcg==" {
		t.Fatalf("sent %q; the caller's request now has %q", srv.authAt(0), req.Header.Get("Authorization"))
	}
}

func TestTokenSourceError(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	failure := errors.New("no refresh token: log in again")
	app := newApp(t, srv.URL, oauth2.TokenSource(failing{failure}))
	_, err := app.Get(context.Background(), "/api/whoami")
	if !errors.Is(err, failure) || !strings.Contains(err.Error(), "GET "+srv.URL+"/api/whoami: getting a token: no refresh token") {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatalf("a token source failure is the source's own error, not %v", e)
	}
	if srv.hits.Load() != 0 {
		t.Fatal("sent without a token")
	}
	// Through Client, the same error is inside the *url.Error.
	_, err = app.Client().Get(srv.URL + "/api/whoami")
	if !errors.Is(err, failure) {
		t.Fatalf("Client: %v", err)
	}
}

type failing struct{ err error }

func (f failing) Token() (*oauth2.Token, error) { return nil, f.err }

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

func TestTimeout(t *testing.T) {
	unsetProxies(t)
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)

	app := newApp(t, srv.URL, static(testJWT), WithTimeout(100*time.Millisecond))
	_, err := app.Get(context.Background(), "/api/slow")
	wantKind(t, appError(t, err), KindNetwork, 0, "The app did not answer within 100ms, the client's timeout (WithTimeout changes it)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, context.DeadlineExceeded) = false: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newApp(t, srv.URL, static(testJWT)).Get(ctx, "/api/slow")
	wantKind(t, appError(t, err), KindNetwork, 0, "The context's deadline passed before the app answered")

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = newApp(t, srv.URL, static(testJWT)).Get(ctx, "/api/slow")
	wantKind(t, appError(t, err), KindNetwork, 0, "The call was canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false: %v", err)
	}
}

func TestTLS(t *testing.T) {
	unsetProxies(t)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer tlsSrv.Close()
	_, err := newApp(t, tlsSrv.URL, static(testJWT)).Get(context.Background(), "/api/whoami")
	wantKind(t, appError(t, err), KindNetwork, 0,
		"certificate problem: the server's certificate is signed by an authority this machine does not trust.",
		"A corporate proxy may intercept TLS", "SSL_CERT_FILE")

	// With the test server's own client (which trusts its CA), it works.
	r, err := newApp(t, tlsSrv.URL, static(testJWT), WithHTTPClient(tlsSrv.Client())).Get(context.Background(), "/api/whoami")
	if err != nil || r.Status != 200 {
		t.Fatalf("trusted: %v", err)
	}

	// https:// to a server that speaks plain http.
	plain := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	_, err = newApp(t, strings.Replace(plain.URL, "http://", "https://", 1), static(testJWT)).Get(context.Background(), "/api/whoami")
	wantKind(t, appError(t, err), KindNetwork, 0, "The server did not answer in TLS")
}

func TestBodyLimit(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range maxBody>>20 + 1 {
			w.Write(chunk)
		}
	})
	_, err := newApp(t, srv.URL, static(testJWT)).Get(context.Background(), "/api/big")
	wantKind(t, appError(t, err), KindTooLarge, 200, "read the answer as a stream")
	if !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Fatalf("err = %v", err)
	}
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

func TestReadToken(t *testing.T) {
	tok := readToken(fakeJWT(map[string]any{"sub": "6f1c2a3b-1234-4abc-9def-0123456789ab", "scp": []string{"a", "b"}, "exp": 2000000000}))
	if !tok.Readable || tok.principal() != "service principal 6f1c2a3b-1234-4abc-9def-0123456789ab" ||
		tok.scopeList() != "a b" || !tok.ExpiresAt.Equal(time.Unix(2000000000, 0)) {
		t.Errorf("readToken: %+v", tok)
	}
	padded := "eyJhbGciOiJub25lIn0." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"x@y.z"}`)) + ".sig"
	if tok := readToken(padded); tok.principal() != "user x@y.z" || tok.scopeList() != "none named (the token has no scope claim)" {
		t.Errorf("padded: %+v", tok)
	}
	for _, opaque := range []string{"", "dapi1234567890", "a.b.c", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c"} {
		if tok := readToken(opaque); tok.Readable || tok.principal() != "the token's principal" {
			t.Errorf("readToken(%q) = %+v", opaque, tok)
		}
	}
}

func TestProxyVariablesRedacted(t *testing.T) {
	unsetProxies(t)
	t.Setenv("HTTPS_PROXY", "https://u:p%40ss@proxy.corp:3128/")
	t.Setenv("http_proxy", "proxy.corp:3128")
	t.Setenv("no_proxy", "localhost,.corp")
	got := strings.Join(proxyVariables(), ", ")
	if want := "HTTPS_PROXY=https://proxy.corp:3128/, http_proxy=proxy.corp:3128, no_proxy=localhost,.corp"; got != want {
		t.Errorf("proxyVariables = %q, want %q", got, want)
	}
	// A transport that uses no proxy says so.
	a := newApp(t, "https://app.example.com", static(testJWT), WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
	u, _ := url.Parse("https://app.example.com/api/x")
	if got := a.proxyReport(u); !strings.Contains(got, "the HTTP client's transport is set to use none") {
		t.Errorf("proxyReport = %q", got)
	}
	// A transport lakelink cannot inspect: what the environment says, hedged.
	a = newApp(t, "https://app.example.com", static(testJWT), WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}))
	if got := a.proxyReport(u); !strings.Contains(got, "If the HTTP client's transport honours these variables, the request went through the proxy https://proxy.corp:3128/.") {
		t.Errorf("proxyReport = %q", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestErrorText(t *testing.T) {
	e := &Error{Op: "GET https://h/api/x", Status: 403, Message: "nope", Kind: KindForbidden, Diagnosis: "Ask."}
	if got := e.Error(); got != "GET https://h/api/x: 403 Forbidden: nope\nAsk." {
		t.Errorf("Error() = %q", got)
	}
	inner := errors.New("dial tcp: boom")
	e = &Error{Op: "GET https://h/api/x", Message: "dial tcp: boom", Kind: KindNetwork, Err: inner}
	if got := e.Error(); got != "GET https://h/api/x: dial tcp: boom" || !errors.Is(e, inner) {
		t.Errorf("Error() = %q", got)
	}
	e = &Error{Op: "GET https://h/api/x?t=abcdef.ghi.signature-part-long", Message: "echo abcdef.ghi.signature-part-long and signature-part-long"}
	e.scrub("abcdef.ghi.signature-part-long")
	if strings.Contains(e.Error(), "signature-part-long") {
		t.Errorf("scrub left the token: %q", e.Error())
	}
}

// TestDoFullURL: an absolute URL of another host is refused before a
// token is asked for (other_host); a user:password is refused too.
func TestDoFullURL(t *testing.T) {
	src := static(testJWT)
	app := newApp(t, "https://app.example.com", src)
	_, err := app.Get(context.Background(), "https://evil.example.com/api/x")
	if e := appError(t, err); e.Kind != KindOtherHost {
		t.Fatalf("err = %v", err)
	}
	_, err = app.Get(context.Background(), "https://alice:pa55word@app.example.com/api/x")
	if err == nil || !strings.Contains(err.Error(), "must not carry a user name or password") || strings.Contains(err.Error(), "pa55word") {
		t.Fatalf("err = %v", err)
	}
	if src.calls.Load() != 0 {
		t.Fatal("asked for a token")
	}
}

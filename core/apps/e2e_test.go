package apps

// End-to-end tests against the emulator: a workspace that issues real
// tokens, and an app behind an Apps-like proxy.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
	"golang.org/x/oauth2"
)

func newApp(t *testing.T, baseURL string, tokens oauth2.TokenSource, opts ...Option) *App {
	t.Helper()
	a, err := New(baseURL, tokens, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type whoami struct {
	User              string `json:"user"`
	Email             string `json:"email"`
	PreferredUsername string `json:"preferred_username"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v
}

func TestWhoamiServicePrincipal(t *testing.T) {
	info := shared.Info()
	sp := info.ServicePrincipal.ClientID
	app := newApp(t, info.AppURL+"/", spSource(shared, info.ServicePrincipal))
	if app.URL() != info.AppURL {
		t.Errorf("URL() = %q, want %q", app.URL(), info.AppURL)
	}
	ctx := context.Background()

	r, err := app.Do(ctx, "GET", "/api/whoami", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := decode[whoami](t, r.Body); r.Status != 200 || w.Email != sp || w.PreferredUsername != sp {
		t.Fatalf("Do: %d %s, want the service principal %s", r.Status, r.Body, sp)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}

	r, err = app.Get(ctx, "api/whoami") // the leading slash is optional
	if err != nil {
		t.Fatal(err)
	}
	if w := decode[whoami](t, r.Body); w.Email != sp {
		t.Fatalf("Get: %s", r.Body)
	}

	for name, client := range map[string]*http.Client{
		"Client":         app.Client(),
		"Transport(nil)": {Transport: app.Transport(nil)},
	} {
		resp, err := client.Get(app.URL() + "/api/whoami")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if w := decode[whoami](t, body); resp.StatusCode != 200 || w.Email != sp {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
}

func TestPostEcho(t *testing.T) {
	info := shared.Info()
	app := newApp(t, info.AppURL, spSource(shared, info.ServicePrincipal))
	ctx := context.Background()
	type echo struct {
		Method  string              `json:"method"`
		Path    string              `json:"path"`
		Query   map[string][]string `json:"query"`
		Headers http.Header         `json:"headers"`
		Body    string              `json:"body"`
	}

	r, err := app.Post(ctx, "/api/echo?limit=10&tag=a%20b", "application/json", strings.NewReader(`{"hello":"world"}`))
	if err != nil {
		t.Fatal(err)
	}
	e := decode[echo](t, r.Body)
	switch {
	case e.Method != "POST" || e.Path != "/api/echo" || e.Body != `{"hello":"world"}`:
		t.Fatalf("echo: %s", r.Body)
	case e.Query["limit"][0] != "10" || e.Query["tag"][0] != "a b":
		t.Fatalf("query: %v", e.Query)
	case e.Headers.Get("Content-Type") != "application/json":
		t.Fatalf("Content-Type: %v", e.Headers)
	case e.Headers.Get("Authorization") != "": // the platform strips it
		t.Fatal("the app saw the Authorization header")
	case e.Headers.Get("X-Forwarded-Email") != info.ServicePrincipal.ClientID:
		t.Fatalf("X-Forwarded-Email: %v", e.Headers)
	}

	// Do with a caller's header: kept, except Authorization, which the
	// transport replaces (the call would fail with the caller's).
	header := http.Header{"X-Custom": {"one", "two"}, "authorization": {"Bearer not-a-token"}, "Content-Type": {"text/plain"}}
	r, err = app.Do(ctx, "PUT", "/api/echo", strings.NewReader("plain body"), header)
	if err != nil {
		t.Fatal(err)
	}
	e = decode[echo](t, r.Body)
	if e.Method != "PUT" || e.Body != "plain body" || strings.Join(e.Headers["X-Custom"], ",") != "one,two" ||
		e.Headers.Get("Content-Type") != "text/plain" {
		t.Fatalf("echo: %s", r.Body)
	}
	if header["authorization"][0] != "Bearer not-a-token" {
		t.Error("Do changed the caller's header")
	}
}

func TestGenieScopes(t *testing.T) {
	info := shared.Info()
	ctx := context.Background()

	withGenie := newApp(t, info.AppURL, static(userToken(t, shared, "all-apis", "offline_access", "dashboards.genie")))
	r, err := withGenie.Get(ctx, "/api/genie")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Body), info.User.Email) {
		t.Fatalf("genie: %s", r.Body)
	}

	without := newApp(t, info.AppURL, static(userToken(t, shared, "all-apis", "offline_access")))
	r, err = without.Get(ctx, "/api/genie")
	e := appError(t, err)
	wantKind(t, e, KindForbidden, 403,
		"GET "+info.AppURL+"/api/genie: 403 Forbidden: The access token is missing the scope dashboards.genie",
		"The token lacks a scope this route requires: dashboards.genie.",
		"The token's scopes: all-apis offline_access.",
		`lakelink login --scopes "all-apis offline_access dashboards.genie"`,
		"AuthScheme=OAuthPKCE")
	if r == nil || r.Status != 403 || !strings.Contains(string(r.Body), "PERMISSION_DENIED") {
		t.Fatalf("the 403 Response should come with the error: %+v", r)
	}
	// The same user may call routes that need no extra scope.
	if _, err := without.Get(ctx, "/api/whoami"); err != nil {
		t.Fatal(err)
	}
}

func TestOutsiderForbidden(t *testing.T) {
	info := shared.Info()
	app := newApp(t, info.AppURL, spSource(shared, info.Outsider))
	_, err := app.Get(context.Background(), "/api/whoami")
	e := appError(t, err)
	wantKind(t, e, KindForbidden, 403,
		"does not have CAN USE permission", // the platform's message
		"service principal "+info.Outsider.ClientID+" lacks CAN USE permission on the app",
		"Ask an app owner to grant service principal "+info.Outsider.ClientID+" CAN USE in the app's Permissions.")
	if strings.Contains(e.Diagnosis, "scope") {
		t.Errorf("a CAN USE problem is not a scope problem: %s", e.Diagnosis)
	}
}

func TestNotFound(t *testing.T) {
	info := shared.Info()
	app := newApp(t, info.AppURL, spSource(shared, info.ServicePrincipal))
	r, err := app.Get(context.Background(), "/api/nope?x=1")
	e := appError(t, err)
	wantKind(t, e, KindNotFound, 404, "The app has no route /api/nope",
		"Nothing answered at "+info.AppURL+"/api/nope?[REDACTED].", "the app URL "+info.AppURL+" is right",
		"deployed and running", "the route /api/nope")
	if r == nil || r.Status != 404 {
		t.Fatalf("Response %+v", r)
	}
}

func TestNonAPIPathRefusedBeforeSending(t *testing.T) {
	info := shared.Info()
	src := spSource(shared, info.ServicePrincipal)
	app := newApp(t, info.AppURL, src)
	before := shared.Stats().Calls["app"]
	for _, path := range []string{"/", "", "/login", "/api", "/apix/whoami", "/API/whoami", "/api/../login", "/api/%2e%2e/login", "/.auth/callback"} {
		r, err := app.Get(context.Background(), path)
		e := appError(t, err)
		wantKind(t, e, KindNotAPIPath, 0, "is not an /api/ route", "Databricks Apps accept token authentication only on /api/ routes",
			"browser sign-in")
		if r != nil {
			t.Errorf("%q: a refused request has no Response", path)
		}
	}
	// An ordinary client over the transport is refused alike.
	_, err := app.Client().Get(info.AppURL + "/login")
	if e := appError(t, err); e.Kind != KindNotAPIPath {
		t.Fatalf("Client: %v", e)
	}
	if after := shared.Stats().Calls["app"]; after != before {
		t.Fatalf("the app's /api/ calls went from %d to %d: a refused request was sent", before, after)
	}
	if n := src.calls.Load(); n != 0 {
		t.Fatalf("the token source was asked %d times for refused requests", n)
	}
}

func TestOtherHostRefused(t *testing.T) {
	info := shared.Info()
	src := spSource(shared, info.ServicePrincipal)
	app := newApp(t, info.AppURL, src)
	before := shared.Stats()
	appURL, _ := url.Parse(info.AppURL)
	for _, target := range []string{
		info.WorkspaceURL + "/api/2.0/preview/scim/v2/Me", // same host, another port
		"https://" + appURL.Host + "/api/whoami",          // another scheme
		"http://example.com/api/whoami",
	} {
		for name, client := range map[string]*http.Client{"Client": app.Client(), "Transport": {Transport: app.Transport(http.DefaultTransport)}} {
			_, err := client.Get(target)
			e := appError(t, err)
			wantKind(t, e, KindOtherHost, 0, "is not the app's host",
				"lakelink sends the app's bearer token only to the app itself, "+info.AppURL, "to keep the token from leaking")
			if !strings.Contains(err.Error(), target) {
				t.Errorf("%s: %v does not name %s", name, err, target)
			}
		}
	}
	after := shared.Stats()
	if after.Calls["scim-me"] != before.Calls["scim-me"] || after.Calls["app"] != before.Calls["app"] {
		t.Fatalf("a refused request was sent: %v -> %v", before.Calls, after.Calls)
	}
	if n := src.calls.Load(); n != 0 {
		t.Fatalf("the token source was asked %d times for refused requests", n)
	}
}

func TestExpiredToken(t *testing.T) {
	e := startEmulator(t, emulator.Config{TokenTTL: 2 * time.Second})
	info := e.Info()
	tok, err := spSource(e, info.ServicePrincipal).Token()
	if err != nil {
		t.Fatal(err)
	}
	exp := readToken(tok.AccessToken).ExpiresAt
	if exp.IsZero() {
		t.Fatal("the emulator's token has no exp")
	}
	time.Sleep(time.Until(exp) + 200*time.Millisecond)

	expired := static(tok.AccessToken)
	cases := []struct {
		name   string
		source oauth2.TokenSource
		want   string
	}{
		{"cannot refresh", refresher{expired, false},
			"lakelink could not refresh it: no refresh token or client secret — log in again (lakelink login) or give OAuthClientSecret."},
		{"can refresh", refresher{expired, true},
			"lakelink refreshes tokens ahead of expiry; the token was rejected anyway — check the clock"},
		{"not a Refresher", expired, "it is not one of lakelink's token sources"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := newApp(t, info.AppURL, c.source)
			_, err := app.Get(context.Background(), "/api/whoami")
			e := appError(t, err)
			wantKind(t, e, KindUnauthorized, 401, "token expired at", // the platform's message
				"The platform did not accept the bearer token: it is invalid or expired.",
				`The WWW-Authenticate header names the error "invalid_token".`,
				"The token of service principal "+info.ServicePrincipal.ClientID+" expired at "+exp.Format(time.RFC3339),
				c.want)
		})
	}
}

func TestGarbageToken(t *testing.T) {
	info := shared.Info()
	app := newApp(t, info.AppURL, static("garbage-token-Zx9Qw8Er7Ty6Ui5Op4"))
	_, err := app.Get(context.Background(), "/api/whoami")
	e := appError(t, err)
	wantKind(t, e, KindUnauthorized, 401, "Invalid access token",
		"lakelink cannot read this token (it is not a JWT)", "a Databricks OAuth access token issued by the app's workspace")
}

// A well-formed JWT that the workspace did not sign: lakelink reads its
// claims (it does not verify them) and explains a live token's refusal.
func TestForeignToken(t *testing.T) {
	info := shared.Info()
	payload, _ := json.Marshal(map[string]any{"sub": "jane@example.com", "iss": "https://other-workspace.cloud.databricks.com/oidc",
		"scope": "all-apis offline_access", "exp": time.Now().Add(time.Hour).Unix()})
	forged := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2lnbmF0dXJlLW9mLWFub3RoZXItd29ya3NwYWNl"
	app := newApp(t, info.AppURL, static(forged))
	_, err := app.Get(context.Background(), "/api/whoami")
	e := appError(t, err)
	wantKind(t, e, KindUnauthorized, 401, "bad signature",
		"The token of user jane@example.com has not expired (it is valid until ", "so the platform refused it for another reason:",
		"it was issued by another workspace than the app's (this one was issued by https://other-workspace.cloud.databricks.com/oidc)",
		"revoked", "Its scopes: all-apis offline_access.")
}

func TestDeadPort(t *testing.T) {
	unsetProxies(t)
	addr := deadPort(t)
	app := newApp(t, "http://"+addr, spSource(shared, shared.Info().ServicePrincipal))
	r, err := app.Get(context.Background(), "/api/whoami")
	e := appError(t, err)
	wantKind(t, e, KindNetwork, 0, "connection refused: nothing listens at "+addr+": is the URL right, is the app running?")
	if !errors.Is(err, syscall.ECONNREFUSED) || r != nil {
		t.Fatalf("errors.Is(ECONNREFUSED) should hold and no Response come: %v %v", err, r)
	}
	if strings.Contains(e.Diagnosis, "Proxy variables") {
		t.Errorf("no proxy variable is set, yet: %s", e.Diagnosis)
	}
}

const noSuchHost = "lakelink-no-such-host.invalid"

func TestUnresolvableHost(t *testing.T) {
	unsetProxies(t)
	app := newApp(t, "https://"+noSuchHost, static("opaque-token-for-dns-test-1234"))
	_, err := app.Get(context.Background(), "/api/whoami")
	e := appError(t, err)
	wantKind(t, e, KindNetwork, 0, "host not found: check the app URL ("+noSuchHost+" does not resolve")
}

func TestProxyVariablesNamed(t *testing.T) {
	unsetProxies(t)
	proxyAddr := deadPort(t)
	t.Setenv("HTTP_PROXY", "http://proxyuser:pr0xy-s3cret@"+proxyAddr)
	t.Setenv("HTTPS_PROXY", "proxyuser:pr0xy-s3cret@"+proxyAddr) // host:port form, as curl accepts
	t.Setenv("NO_PROXY", "example.com")
	app := newApp(t, "https://"+noSuchHost, static("opaque-token-for-proxy-test-1234"))
	check := func(t *testing.T, e *Error) {
		t.Helper()
		for _, text := range []string{e.Error(), e.Message, e.Diagnosis} {
			if strings.Contains(text, "pr0xy-s3cret") || strings.Contains(text, "proxyuser") {
				t.Fatalf("the proxy's credentials leak: %s", text)
			}
		}
	}

	t.Run("through the proxy", func(t *testing.T) {
		_, err := app.Get(context.Background(), "/api/whoami")
		e := appError(t, err)
		wantKind(t, e, KindNetwork, 0,
			"connection refused: nothing listens at "+proxyAddr+": check the proxy variable",
			"Proxy variables: HTTPS_PROXY="+proxyAddr+", HTTP_PROXY=http://"+proxyAddr+", NO_PROXY=example.com.",
			"The request went through the proxy http://"+proxyAddr+".")
		check(t, e)
	})
	t.Run("NO_PROXY", func(t *testing.T) {
		t.Setenv("NO_PROXY", "example.com,.invalid")
		_, err := app.Get(context.Background(), "/api/whoami")
		e := appError(t, err)
		wantKind(t, e, KindNetwork, 0, "host not found",
			"NO_PROXY=example.com,.invalid", "The request went directly, not through a proxy: NO_PROXY matches "+noSuchHost+".")
		check(t, e)
	})
	t.Run("loopback", func(t *testing.T) {
		addr := deadPort(t)
		loopback := newApp(t, "http://"+addr, static("opaque-token-for-proxy-test-1234"))
		_, err := loopback.Get(context.Background(), "/api/whoami")
		e := appError(t, err)
		wantKind(t, e, KindNetwork, 0, "nothing listens at "+addr+": is the URL right",
			"HTTP_PROXY=http://"+proxyAddr, "The request went directly, not through a proxy: 127.0.0.1 is a loopback address")
		check(t, e)
	})
	t.Run("lower case only", func(t *testing.T) {
		unsetProxies(t)
		t.Setenv("http_proxy", "http://"+proxyAddr)
		_, err := app.Get(context.Background(), "/api/whoami")
		e := appError(t, err)
		wantKind(t, e, KindNetwork, 0, "host not found", "Proxy variables: http_proxy=http://"+proxyAddr+".",
			"The request went directly, not through a proxy: HTTPS_PROXY, the variable for https:// URLs, is not set.")
	})
}

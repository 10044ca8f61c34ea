package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

func TestServicePrincipalExplicit(t *testing.T) {
	src, err := NewTokenSource(parse(t, "%s", m2m(shared)))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	info := Describe(tok.AccessToken)
	if info.Principal != shared.Info().ServicePrincipal.ClientID || strings.Join(info.Scopes, " ") != "all-apis" {
		t.Errorf("token for %+v", info)
	}
	if status, body := appGet(t, shared, "/api/whoami", tok.AccessToken); status != 200 {
		t.Errorf("whoami: %d %s", status, body)
	}
	// The same identity shares one source and one token.
	again, _ := NewTokenSource(parse(t, "%s", m2m(shared)))
	tok2, _ := again.Token()
	if again != src || tok2.AccessToken != tok.AccessToken {
		t.Error("a second source for the same identity did not share the token")
	}
	if !src.CanRefresh() {
		t.Error("client credentials can always be renewed")
	}
}

func TestServicePrincipalFromEnvironment(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DATABRICKS_HOST", shared.Info().WorkspaceURL)
	t.Setenv("DATABRICKS_CLIENT_ID", sp.ClientID)
	t.Setenv("DATABRICKS_CLIENT_SECRET", sp.ClientSecret)
	for _, s := range []string{"", "AuthScheme=Databricks"} { // Auto, without a secret in the string, is the SDK chain
		src, err := NewTokenSource(parse(t, "%s", s))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if p := Describe(tok.AccessToken).Principal; p != sp.ClientID {
			t.Errorf("%q: token for %q, want the service principal", s, p)
		}
	}
}

// TestUnifiedAuthRefusesCleartextToAnotherMachine: a workspace URL that
// unified auth finds in DATABRICKS_HOST or a profile, where connstr does
// not see it, is held to Host's rule: http only for a loopback host, so a
// client secret is never sent in cleartext over the network.
func TestUnifiedAuthRefusesCleartextToAnotherMachine(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // the home directory on Windows
	t.Setenv("DATABRICKS_CLIENT_ID", sp.ClientID)
	t.Setenv("DATABRICKS_CLIENT_SECRET", sp.ClientSecret)
	cfg := "[remote]\nhost = http://workspace.example.com\nclient_id = x\nclient_secret = y\n"
	if err := os.WriteFile(filepath.Join(home, ".databrickscfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ env, conn string }{
		// Timeout makes each a Source of its own: sources are shared per
		// connection string, and another test resolved these strings'
		// environment before.
		{"http://workspace.example.com", "Timeout=17"},
		{"http://workspace.example.com", "AuthScheme=Databricks;Timeout=17"},
		{"", "Profile=remote"},
	} {
		t.Setenv("DATABRICKS_HOST", c.env)
		src, err := NewTokenSource(parse(t, "%s", c.conn))
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token()
		if err == nil || !strings.Contains(err.Error(), "it uses http, which would send the token in cleartext") {
			t.Errorf("DATABRICKS_HOST=%q %q: %v, want a refusal of cleartext http", c.env, c.conn, err)
		}
		if host, err := UnifiedAuthHost(parse(t, "%s", c.conn)); err == nil {
			t.Errorf("UnifiedAuthHost %q %q: %q, want a refusal", c.env, c.conn, host)
		}
	}
}

func TestDatabricksProfile(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // the home directory on Windows
	sp := shared.Info().ServicePrincipal
	cfg := fmt.Sprintf("[emulator]\nhost = %s\nclient_id = %s\nclient_secret = %s\n", shared.Info().WorkspaceURL, sp.ClientID, sp.ClientSecret)
	if err := os.WriteFile(filepath.Join(home, ".databrickscfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := NewTokenSource(parse(t, "Profile=emulator"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if p := Describe(tok.AccessToken).Principal; p != sp.ClientID {
		t.Errorf("token for %q", p)
	}
	if status, body := appGet(t, shared, "/api/whoami", tok.AccessToken); status != 200 {
		t.Errorf("whoami: %d %s", status, body)
	}
}

// TestProceduresWebFlow runs the authorization-code flow the way a web app
// does with the three procedures: no lakelink state between the calls.
func TestProceduresWebFlow(t *testing.T) {
	ctx := context.Background()
	o := parse(t, "Host=%s", shared.Info().WorkspaceURL)
	callback := "http://127.0.0.1:5173/oauth/callback"
	a, err := GetOAuthAuthorizationURL(ctx, o, callback, "sql file.files dashboards.genie offline_access", "my-state")
	if err != nil {
		t.Fatal(err)
	}
	if a.State != "my-state" || len(a.PKCEVerifier) < 43 {
		t.Errorf("authorization %+v", a)
	}
	back := followAuthorize(t, a.URL)
	if back.Query().Get("state") != "my-state" {
		t.Errorf("state %q came back", back.Query().Get("state"))
	}
	tokens, err := GetOAuthAccessToken(ctx, o, back.Query().Get("code"), AuthModeWeb, callback, "", a.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	info := Describe(tokens.OAuthAccessToken)
	if info.Principal != shared.Info().User.Email || tokens.Scope != "sql file.files dashboards.genie offline_access" ||
		tokens.OAuthRefreshToken == "" || tokens.ExpiresIn < 3500 {
		t.Errorf("tokens for %+v, scope %q, expires in %d", info, tokens.Scope, tokens.ExpiresIn)
	}
	// Custom scopes in one call: the app's genie route accepts the token.
	if status, body := appGet(t, shared, "/api/genie", tokens.OAuthAccessToken); status != 200 {
		t.Errorf("genie: %d %s", status, body)
	}
	refreshed, err := RefreshOAuthAccessToken(ctx, o, tokens.OAuthRefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.OAuthRefreshToken == tokens.OAuthRefreshToken || refreshed.OAuthAccessToken == tokens.OAuthAccessToken {
		t.Error("a refresh returned the same tokens")
	}
	// Refresh tokens rotate: the first one is spent.
	_, err = RefreshOAuthAccessToken(ctx, o, tokens.OAuthRefreshToken)
	var oauthErr *OAuthError
	if !errors.As(err, &oauthErr) || oauthErr.Code != "invalid_grant" || !strings.Contains(err.Error(), "lakelink login") {
		t.Errorf("reusing a refresh token: %v, want invalid_grant with advice", err)
	}
	// Without the genie scope the app refuses.
	a2, _ := GetOAuthAuthorizationURL(ctx, o, callback, "sql", "")
	t2, err := GetOAuthAccessToken(ctx, o, followAuthorize(t, a2.URL).Query().Get("code"), AuthModeWeb, callback, "", a2.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := appGet(t, shared, "/api/genie", t2.OAuthAccessToken); status != 403 || !strings.Contains(body, "dashboards.genie") {
		t.Errorf("genie without its scope: %d %s", status, body)
	}
}

// TestPKCELoopbackFlow: AuthScheme=OAuthPKCE with GETANDREFRESH sends the
// browser to the authorize URL and takes the code at its loopback callback.
func TestPKCELoopbackFlow(t *testing.T) {
	cfg := browser()
	location := tokenStore(t)
	o := parse(t, "Host=%s;AuthScheme=OAuthPKCE;Scope='sql,dashboards.genie,offline_access';CallbackURL=%s;OAuthSettingsLocation=%s",
		shared.Info().WorkspaceURL, freeCallback(t), location)
	src, err := cfg.NewTokenSource(o)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if status, body := appGet(t, shared, "/api/genie", tok.AccessToken); status != 200 {
		t.Errorf("genie: %d %s", status, body)
	}
	// The tokens are stored, for the user alone (see checkPrivate), under the identity.
	store, _ := OpenStore(location)
	entry, err := store.Load(StoreKey(shared.Info().WorkspaceURL, DefaultClientID, []string{"offline_access", "sql", "dashboards.genie"}))
	if err != nil || entry == nil || entry.RefreshToken == "" {
		t.Fatalf("stored entry %+v, %v", entry, err)
	}
	checkPrivate(t, location)
}

// browser is a configuration whose browser signs in at once.
func browser() *Config {
	return &Config{Prompt: io.Discard, OpenBrowser: func(u string) error {
		go func() {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}}
}

// TestHeadlessFlow: the authorization URL is opened on another device and
// the URL the browser ends at is brought back as OAuthVerifier.
func TestHeadlessFlow(t *testing.T) {
	ctx := context.Background()
	location := tokenStore(t)
	s := fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthSettingsLocation=%s", shared.Info().WorkspaceURL, location)
	a, err := StartHeadless(ctx, parse(t, "%s", s))
	if err != nil {
		t.Fatal(err)
	}
	back := followAuthorize(t, a.URL) // on "another device"
	src, err := NewTokenSource(parse(t, "%s;OAuthVerifier='%s'", s, back.String()))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if p := Describe(tok.AccessToken).Principal; p != shared.Info().User.Email {
		t.Errorf("token for %q", p)
	}
	// Later connections use the stored token, without the verifier.
	later, err := NewTokenSource(parse(t, "%s;Timeout=10", s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := later.Token(); err != nil {
		t.Errorf("later connection: %v", err)
	}
}

func TestRefreshStoredTokenAfterExpiry(t *testing.T) {
	e := shortLived(t, 2*time.Second)
	ctx := context.Background()
	o := parse(t, "Host=%s", e.Info().WorkspaceURL)
	callback := "http://localhost:8020"
	a, _ := GetOAuthAuthorizationURL(ctx, o, callback, "", "")
	tokens, err := GetOAuthAccessToken(ctx, o, followAuthorize(t, a.URL).Query().Get("code"), AuthModeWeb, callback, "", a.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewTokenSource(parse(t, "Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthRefreshToken=%s;OAuthSettingsLocation=%s",
		e.Info().WorkspaceURL, tokens.OAuthRefreshToken, tokenStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	second, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || !second.Expiry.After(time.Now()) {
		t.Error("the token was not renewed after expiry")
	}
	if status, body := appGet(t, e, "/api/whoami", second.AccessToken); status != 200 {
		t.Errorf("whoami with the renewed token: %d %s", status, body)
	}
}

func TestOffWithExpiredToken(t *testing.T) {
	e := shortLived(t, time.Second)
	sp := e.Info().ServicePrincipal
	src, _ := NewTokenSource(parse(t, "%s", m2m(e)))
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	off, err := NewTokenSource(parse(t, "Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=OFF;OAuthAccessToken=%s", e.Info().WorkspaceURL, tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	_, err = off.Token()
	if err == nil || !strings.Contains(err.Error(), "expired at") || !strings.Contains(err.Error(), "InitiateOAuth=OFF") {
		t.Errorf("an expired token with InitiateOAuth=OFF: %v", err)
	}
	if off.CanRefresh() {
		t.Error("InitiateOAuth=OFF cannot refresh")
	}
	_ = sp
}

func TestTransientFailuresAreRetried(t *testing.T) {
	e := shortLived(t, time.Hour)
	fault(t, e, `{"endpoint": "token", "kind": "500", "count": 2}`)
	fault(t, e, `{"endpoint": "token", "kind": "429", "count": 1, "retry_after_seconds": 1}`)
	fault(t, e, `{"endpoint": "token", "kind": "malformed", "count": 1}`)
	before := e.Stats()
	start := time.Now()
	src, _ := NewTokenSource(parse(t, "%s;Timeout=20", m2m(e)))
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if d := e.Stats().Calls["token"] - before.Calls["token"]; d != 5 {
		t.Errorf("%d token calls, want 5 (2×500, 429, malformed, success)", d)
	}
	if time.Since(start) < time.Second {
		t.Error("Retry-After: 1 was not honoured")
	}
}

func TestPermanentFailuresAreNotRetried(t *testing.T) {
	e := shortLived(t, time.Hour)
	before := e.Stats()
	src, _ := NewTokenSource(parse(t, "Host=%s;AuthScheme=OAuthClient;OAuthClientId=%s;OAuthClientSecret=wrong-secret-value",
		e.Info().WorkspaceURL, e.Info().ServicePrincipal.ClientID))
	_, err := src.Token()
	var oauthErr *OAuthError
	if !errors.As(err, &oauthErr) || oauthErr.Code != "invalid_client" || !strings.Contains(err.Error(), "check OAuthClientId and OAuthClientSecret") {
		t.Errorf("wrong secret: %v", err)
	}
	if d := e.Stats().Calls["token"] - before.Calls["token"]; d != 1 {
		t.Errorf("%d token calls, want 1", d)
	}
}

func TestTimeoutBoundsRetries(t *testing.T) {
	e := shortLived(t, time.Hour)
	fault(t, e, `{"endpoint": "token", "kind": "500", "count": 1000}`)
	start := time.Now()
	src, _ := NewTokenSource(parse(t, "%s;Timeout=2", m2m(e)))
	_, err := src.Token()
	if err == nil || !strings.Contains(err.Error(), "gave up after") {
		t.Errorf("endless 500s: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("gave up after %v, want about the 2 s Timeout", d)
	}
}

func TestConfigurationErrors(t *testing.T) {
	for s, want := range map[string]string{
		"AuthScheme=OAuthClient;Host=http://127.0.0.1:1": "needs OAuthClientId and OAuthClientSecret",
		"AuthScheme=Token":                                           "needs Token",
		"AuthScheme=Password;Password=x":                             "not a Databricks token",
		"AuthScheme=OAuthPKCE":                                       "give Host",
		"AuthScheme=OAuthPKCE;Host=h;InitiateOAuth=OFF":              "", // fails at Token
		"AuthScheme=OAuthClient;OAuthClientId=a;OAuthClientSecret=b": "give Host",
	} {
		_, err := NewTokenSource(parse(t, "%s", s))
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", s, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error mentioning %q", s, err, want)
		}
	}
}

func TestStaticToken(t *testing.T) {
	src, _ := NewTokenSource(parse(t, "%s", m2m(shared)))
	tok, _ := src.Token()
	static, err := NewTokenSource(&connstr.Options{AuthScheme: connstr.AuthToken, Token: tok.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	got, err := static.Token()
	if err != nil || got.AccessToken != tok.AccessToken || static.CanRefresh() {
		t.Errorf("static token: %v", err)
	}
}

// TestRFC7636AppendixB checks the PKCE challenge against the RFC's vector.
func TestRFC7636AppendixB(t *testing.T) {
	f := &userFlow{clientID: "c", scopes: []string{"all-apis"}}
	u := f.authorizationURL(&Endpoints{AuthorizationEndpoint: "https://h/oidc/v1/authorize"}, "http://localhost:8020", "s",
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
	if !strings.Contains(u, "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") || !strings.Contains(u, "code_challenge_method=S256") {
		t.Errorf("authorization URL %s lacks the RFC 7636 Appendix B challenge", u)
	}
}

func TestCorruptStoreIsReportedNotReplaced(t *testing.T) {
	location := tokenStore(t)
	os.MkdirAll(filepath.Dir(location), 0o700)
	os.WriteFile(location, []byte(`{"version": 1, "entries": {`), 0o600)
	src, err := NewTokenSource(parse(t, "Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthRefreshToken=abc;OAuthSettingsLocation=%s",
		shared.Info().WorkspaceURL, location))
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token()
	if err == nil || !strings.Contains(err.Error(), location) || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt store: %v", err)
	}
	if data, _ := os.ReadFile(location); string(data) != `{"version": 1, "entries": {` {
		t.Error("the corrupt store was overwritten")
	}
}

// TestOneRenewalInFlight: many goroutines asking a fresh source at once
// cause one token request.
func TestOneRenewalInFlight(t *testing.T) {
	e := shortLived(t, time.Hour)
	src, err := NewTokenSource(parse(t, "%s", m2m(e)))
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Token(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := e.Stats().TokensIssued - before.TokensIssued; d != 1 {
		t.Errorf("%d tokens issued for 20 concurrent callers, want 1", d)
	}
}

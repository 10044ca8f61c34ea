package emulator

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// shared is one emulator, with its own PostgreSQL cluster and the app's
// user authorization on (user API scope dashboards.genie), used by every
// test that does not need special settings.
var shared *Emulator

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run()) // a fuzzing worker runs fuzz targets only, which need no emulator
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var err error
	shared, err = Start(ctx, Config{AppUserAPIScopes: []string{genieScope}}) // user authorization on
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulator:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := shared.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the emulator:", err)
		code = 1
	}
	os.Exit(code)
}

// startEmulator starts a second emulator with cfg, sharing the shared
// emulator's PostgreSQL server unless cfg names one, and stops it at the
// end of the test.
func startEmulator(t *testing.T, cfg Config) *Emulator {
	t.Helper()
	if cfg.PostgresURL == "" {
		cfg.PostgresURL = shared.Info().Lakebase.PostgresURL
	}
	e, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request and decodes a JSON body when there is one.
func do(t *testing.T, method, rawURL, bearer string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, req)
}

// postForm posts a form to the token endpoint, with HTTP Basic when user is
// not empty.
func postForm(t *testing.T, e *Emulator, form url.Values, user, password string) response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.Info().WorkspaceURL+"/oidc/v1/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return send(t, req)
}

// send sends req without following redirects.
func send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

// m2mToken gets a client_credentials token for a service principal.
func m2mToken(t *testing.T, e *Emulator, client ClientInfo, scope string) string {
	t.Helper()
	r := postForm(t, e, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, client.ClientID, client.ClientSecret)
	if r.status != 200 {
		t.Fatalf("client_credentials: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// wantStatus fails the test unless r has the status and its body mentions
// every one of substrings.
func wantStatus(t *testing.T, r response, status int, substrings ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	for _, s := range substrings {
		if !strings.Contains(r.raw, s) {
			t.Fatalf("body %s does not mention %q", r.raw, s)
		}
	}
}

package auth

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/emulator/emulatortest"
)

// shared is the emulator most tests use.
var shared *emulator.Emulator

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" { // a child process of TestTwoProcessesRefreshOnce
		os.Exit(helperProcess())
	}
	if os.Getenv(refreshWorkerEnv) != "" { // a child process of TestProcessesShareRotatingRefreshTokens
		os.Exit(refreshWorker())
	}
	// The default configuration, which most tests use, opens no browser.
	defaultConfig.OpenBrowser = func(string) error { return fmt.Errorf("tests open no browser unless they say so") }
	defaultConfig.Prompt = io.Discard
	emulatortest.Main(m, emulator.Config{}, &shared)
}

// shortLived starts an emulator whose tokens live ttl, sharing the shared
// emulator's PostgreSQL.
func shortLived(t *testing.T, ttl time.Duration) *emulator.Emulator {
	t.Helper()
	e, err := emulator.Start(context.Background(), emulator.Config{TokenTTL: ttl, PostgresURL: shared.Info().Lakebase.PostgresURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// parse parses a connection string built with fmt.Sprintf.
func parse(t *testing.T, format string, args ...any) *connstr.Options {
	t.Helper()
	o, err := connstr.Parse(fmt.Sprintf(format, args...))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// m2m is the connection string of e's service principal.
func m2m(e *emulator.Emulator) string {
	sp := e.Info().ServicePrincipal
	return fmt.Sprintf("Host=%s;AuthScheme=OAuthClient;OAuthClientId=%s;OAuthClientSecret=%s", e.Info().WorkspaceURL, sp.ClientID, sp.ClientSecret)
}

// appGet calls the emulated app with a bearer token.
func appGet(t *testing.T, e *emulator.Emulator, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.Info().AppURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// fault arms an emulator fault and clears all faults when the test ends.
func fault(t *testing.T, e *emulator.Emulator, body string) {
	t.Helper()
	resp, err := http.Post(e.Info().AdminURL+"/faults", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("arming fault %s: %v %v", body, err, resp.Status)
	}
	resp.Body.Close()
	t.Cleanup(func() {
		req, _ := http.NewRequest("DELETE", e.Info().AdminURL+"/faults", nil)
		req.Header.Set("Content-Type", "application/json") // the admin endpoint changes state only for JSON
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// followAuthorize plays the browser: it requests the authorization URL and
// returns the callback URL the workspace redirects to.
func followAuthorize(t *testing.T, authURL string) *url.URL {
	t.Helper()
	u, err := emulator.SignIn(context.Background(), authURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("code") == "" {
		t.Fatalf("authorize redirected to %q, want a code", u)
	}
	return u
}

// freeCallback returns a loopback callback URL on a free port.
func freeCallback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/callback"
}

// tokenStore returns a fresh token file location in a temporary directory.
func tokenStore(t *testing.T) string {
	return filepath.Join(t.TempDir(), "lakelink", "tokens.json")
}

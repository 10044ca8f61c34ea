package apps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/emulator/emulatortest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// shared is one emulator, with its own PostgreSQL cluster, used by every
// test that does not need special settings.
var shared *emulator.Emulator

func TestMain(m *testing.M) { emulatortest.Main(m, emulator.Config{}, &shared) }

// startEmulator starts a second emulator with cfg, sharing the shared
// emulator's PostgreSQL server, and stops it at the end of the test.
func startEmulator(t *testing.T, cfg emulator.Config) *emulator.Emulator {
	t.Helper()
	cfg.PostgresURL = shared.Info().Lakebase.PostgresURL
	e, err := emulator.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// issued holds every token a test handed to an App, so that noLeak can
// check that none appears in any error.
var issued sync.Map

// recording is a token source that remembers the tokens it hands out and
// counts the calls.
type recording struct {
	src   oauth2.TokenSource
	calls atomic.Int32
}

func record(src oauth2.TokenSource) *recording { return &recording{src: src} }

func (r *recording) Token() (*oauth2.Token, error) {
	r.calls.Add(1)
	tok, err := r.src.Token()
	if err == nil {
		issued.Store(tok.AccessToken, true)
	}
	return tok, err
}

// static is a recording source of one fixed access token.
func static(token string) *recording {
	issued.Store(token, true)
	return record(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
}

// refresher is a fixed token from a source that says whether it could
// refresh, as lakelink's token sources do.
type refresher struct {
	*recording
	can bool
}

func (r refresher) CanRefresh() bool { return r.can }

// spSource is a client-credentials token source for a service principal
// of emulator e.
func spSource(e *emulator.Emulator, client emulator.ClientInfo, scopes ...string) *recording {
	cfg := clientcredentials.Config{
		ClientID:     client.ClientID,
		ClientSecret: client.ClientSecret,
		TokenURL:     e.Info().WorkspaceURL + "/oidc/v1/token",
		Scopes:       scopes,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	return record(cfg.TokenSource(context.Background()))
}

// noRedirects is an HTTP client that returns redirects instead of following.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// userToken signs the emulator's user in with the authorization-code flow
// and PKCE, as client databricks-cli, asking for scopes. The emulator signs
// in at once and redirects to the loopback redirect URI, which need not
// listen: the code is read from the redirect's Location.
func userToken(t *testing.T, e *emulator.Emulator, scopes ...string) string {
	t.Helper()
	ws := e.Info().WorkspaceURL
	cfg := oauth2.Config{
		ClientID: "databricks-cli",
		Endpoint: oauth2.Endpoint{AuthURL: ws + "/oidc/v1/authorize", TokenURL: ws + "/oidc/v1/token",
			AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1:8765/cb",
		Scopes:      scopes,
	}
	verifier := oauth2.GenerateVerifier()
	loc, err := emulator.SignIn(context.Background(), cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if q.Get("state") != "state-1" || q.Get("code") == "" {
		t.Fatalf("authorize redirected to %s, want a code and state-1", loc.Redacted())
	}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	issued.Store(tok.AccessToken, true)
	return tok.AccessToken
}

// appError returns err as an *Error, failing the test when it is not one,
// after checking that no token leaks through it.
func appError(t *testing.T, err error) *Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	noLeak(t, err)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *apps.Error: %v", err, err)
	}
	return e
}

// noLeak fails the test when any token handed out in this test binary,
// or its signature, appears in err's text or fields.
func noLeak(t *testing.T, err error) {
	t.Helper()
	texts := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)}
	var e *Error
	if errors.As(err, &e) {
		texts = append(texts, e.Op, e.Message, e.Diagnosis)
	}
	issued.Range(func(k, _ any) bool {
		secret := k.(string)
		parts := strings.Split(secret, ".")
		for _, text := range texts {
			if strings.Contains(text, secret) || (len(parts) == 3 && strings.Contains(text, parts[2])) {
				t.Errorf("a token appears in the error: %q", text)
				return false
			}
		}
		return true
	})
}

// wantKind checks the kind and status of e and that its diagnosis (or,
// for the message, its text) mentions every one of substrings.
func wantKind(t *testing.T, e *Error, kind string, status int, substrings ...string) {
	t.Helper()
	t.Logf("%s error:\n%v", e.Kind, e)
	if e.Kind != kind || e.Status != status {
		t.Fatalf("kind %q status %d, want %q %d: %v", e.Kind, e.Status, kind, status, e)
	}
	for _, s := range substrings {
		if !strings.Contains(e.Error(), s) {
			t.Errorf("error does not mention %q:\n%v", s, e)
		}
	}
}

// deadPort returns a loopback address where nothing listens.
func deadPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// unsetProxies clears the proxy variables for the test.
func unsetProxies(t *testing.T) {
	for _, name := range proxyVariableNames {
		t.Setenv(name, "")
	}
	t.Setenv("REQUEST_METHOD", "")
}

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lakelink/lakelink/core/emulator"
)

// cli runs the built lakelink CLI against one emulator, with a clean
// environment: its own HOME and config directory, no DATABRICKS_*.
type cli struct {
	t   *testing.T
	bin string
	em  *emulator.Emulator
	env []string
}

var (
	sharedEmOnce sync.Once
	sharedEm     *emulator.Emulator
)

func newCLI(t *testing.T) *cli {
	t.Helper()
	sharedEmOnce.Do(func() {
		var err error
		if sharedEm, err = emulator.Start(context.Background(), emulator.Config{}); err != nil {
			t.Fatal(err)
		}
	})
	if sharedEm == nil {
		t.Fatal("the shared emulator did not start")
	}
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		// The "browser" follows the authorize redirect to the loopback callback.
		`BROWSER=curl -s -L -o /dev/null`}
	return &cli{t: t, bin: cliBinary, em: sharedEm, env: env}
}

// run runs lakelink with args and extra environment; it returns stdout,
// stderr and the exit code.
func (c *cli) run(extraEnv []string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(append([]string{}, c.env...), extraEnv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		c.t.Errorf("lakelink %v printed a Go stack trace:\n%s", args, stderr.String())
	}
	return stdout.String(), stderr.String(), code
}

func (c *cli) m2m() string {
	sp := c.em.Info().ServicePrincipal
	return fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", c.em.Info().WorkspaceURL, sp.ClientID, sp.ClientSecret)
}

func TestTokenCommand(t *testing.T) {
	c := newCLI(t)
	sp := c.em.Info().ServicePrincipal
	out, errOut, code := c.run(nil, "token", "--connection", c.m2m())
	if code != 0 || strings.Count(strings.TrimSpace(out), ".") != 2 {
		t.Fatalf("token: %d %q %s", code, out, errOut)
	}
	out, _, code = c.run([]string{"LAKELINK_CONNECTION=" + c.m2m()}, "token", "--json")
	if code != 0 || !strings.Contains(out, `"principal": "`+sp.ClientID+`"`) || !strings.Contains(out, `"expires_at"`) ||
		!strings.Contains(out, `"all-apis"`) {
		t.Errorf("token --json: %d %s", code, out)
	}
	// DATABRICKS_* as Databricks injects them into an app.
	env := []string{"DATABRICKS_HOST=" + c.em.Info().WorkspaceURL, "DATABRICKS_CLIENT_ID=" + sp.ClientID, "DATABRICKS_CLIENT_SECRET=" + sp.ClientSecret}
	if out, errOut, code = c.run(env, "token", "--json"); code != 0 || !strings.Contains(out, sp.ClientID) {
		t.Errorf("token from DATABRICKS_*: %d %s %s", code, out, errOut)
	}
	_, errOut, code = c.run(nil, "token", "--connection", "Host=x;OAuthClientSecert=y")
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, `did you mean "OAuthClientSecret"`) {
		t.Errorf("a typo: %d %q", code, errOut)
	}
}

// TestLoginThenCall: a user logs in with custom scopes, and later commands
// for the same host and scopes use the stored login.
func TestLoginThenCall(t *testing.T) {
	c := newCLI(t)
	info := c.em.Info()
	out, errOut, code := c.run(nil, "login", "--host", info.WorkspaceURL, "--scopes", "sql,dashboards.genie")
	if code != 0 || !strings.Contains(out, "Logged in to "+info.WorkspaceURL+" as "+info.User.Email) {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	out, errOut, code = c.run(nil, "call", "--host", info.WorkspaceURL, "--scopes", "sql,dashboards.genie", info.AppURL+"/api/genie")
	if code != 0 || !strings.Contains(out, "Genie says hello to "+info.User.Email) {
		t.Errorf("call genie: %d %s %s", code, out, errOut)
	}
	// DATABRICKS_HOST names the host as well as --host does.
	out, errOut, code = c.run([]string{"DATABRICKS_HOST=" + info.WorkspaceURL}, "token", "--json", "--scopes", "sql,dashboards.genie")
	if code != 0 || !strings.Contains(out, info.User.Email) {
		t.Errorf("token for the stored login: %d %s %s", code, out, errOut)
	}
	// Another scope set is another login.
	_, errOut, code = c.run(nil, "token", "--host", info.WorkspaceURL, "--scopes", "files")
	if code != 1 || !strings.Contains(errOut, "lakelink login") {
		t.Errorf("token for scopes never logged in: %d %s", code, errOut)
	}
}

func TestCallCommand(t *testing.T) {
	c := newCLI(t)
	info := c.em.Info()
	conn := c.m2m()
	out, errOut, code := c.run(nil, "call", "--connection", conn, info.AppURL+"/api/whoami")
	if code != 0 || !strings.Contains(out, info.ServicePrincipal.ClientID) {
		t.Errorf("whoami: %d %s %s", code, out, errOut)
	}
	body := filepath.Join(t.TempDir(), "body.json")
	os.WriteFile(body, []byte(`{"from": "file"}`), 0o600)
	out, errOut, code = c.run(nil, "call", "--connection", conn, "-X", "PUT", "-d", "@"+body, "-H", "X-Trace: 42", info.AppURL+"/api/echo?q=1")
	for _, want := range []string{`"method":"PUT"`, `"body":"{\"from\": \"file\"}"`, `"X-Trace":["42"]`, `"q":["1"]`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("echo lacks %s: %d %s %s", want, code, out, errOut)
		}
	}
	out, errOut, code = c.run(nil, "call", "--connection", conn, "--app", info.AppURL, "/api/echo?next=http://x")
	if code != 0 || !strings.Contains(out, `"next":["http://x"]`) {
		t.Errorf("--app and a path whose query holds ://: %d %s %s", code, out, errOut)
	}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"--app", info.AppURL, "http://127.0.0.2:9/api/x"}, []string{"refused before sending", "is not the app's host"}},
		{[]string{"--app", "http://my-app-123.databricksapps.com", "/api/x"}, []string{"only for a local emulator"}},
		{[]string{"app.example.com/api/x?next=http://x"}, []string{`app URL "app.example.com": no scheme`}},
	} {
		_, errOut, code := c.run(nil, append([]string{"call", "--connection", conn}, tc.args...)...)
		for _, w := range tc.want {
			if code != 1 || !strings.Contains(errOut, w) {
				t.Errorf("%v: exit %d, stderr lacks %q:\n%s", tc.args, code, w, errOut)
			}
		}
	}
	outsider := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", info.WorkspaceURL, info.Outsider.ClientID, info.Outsider.ClientSecret)
	for _, tc := range []struct {
		name, conn, url string
		want            []string
	}{
		{"outsider", outsider, info.AppURL + "/api/whoami", []string{"403", "CAN USE", info.Outsider.ClientID}},
		{"genie without its scope", conn, info.AppURL + "/api/genie", []string{"403", "dashboards.genie"}},
		{"unknown route", conn, info.AppURL + "/api/nope", []string{"404"}},
		{"not an /api/ path", conn, info.AppURL + "/index.html", []string{"/api/"}},
		{"dead port", conn, "http://127.0.0.1:" + deadPort(t) + "/api/whoami", []string{"connection refused"}},
	} {
		out, errOut, code := c.run(nil, "call", "--connection", tc.conn, tc.url)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1; %s %s", tc.name, code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, w, errOut)
			}
		}
		if strings.Contains(errOut, info.Outsider.ClientSecret) || strings.Contains(errOut, info.ServicePrincipal.ClientSecret) {
			t.Errorf("%s: a secret in stderr", tc.name)
		}
	}
}

func deadPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return strconv.Itoa(port)
}

// TestHeadlessOAuthCommands: authorize-url here, sign-in on "another
// device", exchange of the URL the browser ended at, then a refresh.
func TestHeadlessOAuthCommands(t *testing.T) {
	c := newCLI(t)
	host := c.em.Info().WorkspaceURL
	out, errOut, code := c.run(nil, "oauth", "authorize-url", "--host", host)
	if code != 0 || !strings.HasPrefix(out, host+"/oidc/v1/authorize?") {
		t.Fatalf("authorize-url: %d %s %s", code, out, errOut)
	}
	callback, err := emulator.SignIn(context.Background(), strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	// A refused sign-in is reported as such, and leaves the authorization pending.
	denied := "http://localhost:8020/?error=access_denied&error_description=the+user+denied+the+request&state=" + callback.Query().Get("state")
	if _, errOut, code = c.run(nil, "oauth", "exchange", "--host", host, "--code", denied); code != 1 || !strings.Contains(errOut, "access_denied") {
		t.Errorf("exchange of a refused sign-in: %d %s", code, errOut)
	}
	out, errOut, code = c.run(nil, "oauth", "exchange", "--host", host, "--code", callback.String())
	if code != 0 || !strings.Contains(out, c.em.Info().User.Email) || !strings.Contains(out, "stored in") {
		t.Fatalf("exchange: %d %s %s", code, out, errOut)
	}
	if out, errOut, code = c.run(nil, "oauth", "refresh", "--host", host); code != 0 || !strings.Contains(out, "stored in") {
		t.Errorf("refresh: %d %s %s", code, out, errOut)
	}
	if out, errOut, code = c.run(nil, "token", "--host", host); code != 0 || strings.Count(out, ".") != 2 {
		t.Errorf("token after the headless login: %d %s %s", code, out, errOut)
	}
	if _, errOut, code = c.run(nil, "oauth", "exchange", "--host", host, "--code", "spent"); code != 1 || !strings.Contains(errOut, "authorize-url") {
		t.Errorf("exchange without a pending authorization: %d %s", code, errOut)
	}
}

func TestDoctorCommand(t *testing.T) {
	c := newCLI(t)
	info := c.em.Info()
	out, errOut, code := c.run(nil, "doctor", "--connection", c.m2m(), "--app", info.AppURL+"/api/whoami")
	if code != 0 || !strings.Contains(out, "All checks passed") || strings.Contains(out, "✗") {
		t.Errorf("doctor: %d\n%s%s", code, out, errOut)
	}
	wrong := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=not-the-secret", info.WorkspaceURL, info.ServicePrincipal.ClientID)
	out, _, code = c.run(nil, "doctor", "--connection", wrong)
	if code != 1 || !strings.Contains(out, "✓ workspace") || !strings.Contains(out, "✗ token") || !strings.Contains(out, "OAuthClientSecret") {
		t.Errorf("doctor with a wrong secret: %d\n%s", code, out)
	}
	outsider := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", info.WorkspaceURL, info.Outsider.ClientID, info.Outsider.ClientSecret)
	out, _, code = c.run(nil, "doctor", "--connection", outsider, "--app", info.AppURL+"/api/whoami")
	if code != 1 || !strings.Contains(out, "✗ app") || !strings.Contains(out, "CAN USE") {
		t.Errorf("doctor for the outsider: %d\n%s", code, out)
	}
	out, _, code = c.run(nil, "doctor", "--connection", "Host=http://127.0.0.1:"+deadPort(t)+";AuthScheme=OAuthPKCE")
	if code != 1 || !strings.Contains(out, "✗ workspace") {
		t.Errorf("doctor with a dead workspace: %d\n%s", code, out)
	}
}

// TestVerboseOutputHasNoSecrets runs commands with -v and looks for
// secrets in everything they print.
func TestVerboseOutputHasNoSecrets(t *testing.T) {
	c := newCLI(t)
	info := c.em.Info()
	_, errOut, code := c.run(nil, "call", "-v", "--connection", c.m2m(), info.AppURL+"/api/whoami")
	if code != 0 || !strings.Contains(errOut, "http request") {
		t.Fatalf("call -v: %d %s", code, errOut)
	}
	tokenOut, _, _ := c.run(nil, "token", "--connection", c.m2m())
	for _, secret := range []string{info.ServicePrincipal.ClientSecret, strings.TrimSpace(tokenOut)} {
		if strings.Contains(errOut, secret) {
			t.Errorf("-v output holds a secret:\n%s", errOut)
		}
	}
}

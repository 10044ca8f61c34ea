//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
)

// TestLoginInRealBrowser is the login as a user lives it: `lakelink login`
// opens a real browser (Debian's Chromium, headless, driven by
// build/browser/click-allow.mjs as $BROWSER), which signs in at
// `lakelink emulator --interactive`'s consent page by clicking Allow and
// lands on the CLI's loopback callback; the token must then be in the store,
// for the user, with the scopes asked for, and good at the app.
//
// LAKELINK_KEEP_SCREENSHOT=FILE keeps the browser's screenshot of the
// callback page, which is otherwise removed with the test's temporary files.
//
// It needs /usr/bin/chromium and build/browser/node_modules, which `make test`
// installs (build/ensure-browser.sh). Without them it fails: it is the only
// test of the real browser path, and skipping would hide that it never ran.
func TestLoginInRealBrowser(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repo, "build", "browser", "click-allow.mjs")
	var missing []string
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium (Debian's chromium package)")
	}
	if _, err := os.Stat(filepath.Join(repo, "build", "browser", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "build/browser/node_modules (npm ci in build/browser)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if len(missing) > 0 {
		t.Fatalf("the real-browser login test needs %s: run `make test`, which installs them "+
			"(build/ensure-browser.sh), or run build/ensure-browser.sh yourself", strings.Join(missing, ", "))
	}

	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	emu, err := emulator.Start(ctx, emulator.Config{Interactive: true})
	cancel()
	if err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	resultFile := filepath.Join(dir, "browser-result.txt")
	screenshot := filepath.Join(dir, "callback.png")
	readOutcome := func() (string, bool) {
		data, err := os.ReadFile(resultFile)
		return strings.TrimSpace(string(data)), err == nil
	}

	ctx, cancel = context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var (
		cmd            *exec.Cmd
		stdout, stderr bytes.Buffer
		runErr         error
		start          time.Time
	)
	for attempt := 1; ; attempt++ {
		port := freeLocalhostCallbackPort(t)
		c := exec.CommandContext(ctx, bin, "login", "--host", info.WorkspaceURL, "--scopes", "sql,dashboards.genie",
			"--connection", "OAuthSettingsLocation="+tokens+";CallbackURL=http://localhost:"+strconv.Itoa(port))
		c.Env = append(os.Environ(),
			"BROWSER=node "+quoteForSh(script),
			"LAKELINK_BROWSER_RESULT="+resultFile,
			"LAKELINK_SCREENSHOT="+screenshot,
			"LAKELINK_EXPECT_USER="+info.User.Email,
		)
		// Its own process group, which the browser it starts joins: the
		// test can then wait for the browser to be gone, and end it if not.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
		stdout.Reset()
		stderr.Reset()
		c.Stdout, c.Stderr = &stdout, &stderr
		cmd = c

		start = time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pgid := cmd.Process.Pid
		t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGTERM) }) // whatever of the browser is left
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		for waiting := true; waiting; {
			select {
			case runErr = <-done:
				waiting = false
			case <-time.After(100 * time.Millisecond):
				// A browser that gave up leaves the login waiting for
				// minutes: stop it and say what the browser saw.
				if outcome, ok := readOutcome(); ok && outcome != "ok" {
					syscall.Kill(-pgid, syscall.SIGKILL)
					<-done
					t.Fatalf("the browser failed after %s: %s\nlakelink login's stderr:\n%s",
						time.Since(start).Round(time.Millisecond), outcome, stderr.String())
				}
			}
		}
		// Another test may take the port between our check and the login's
		// listen; the login then stops before opening the browser.
		if runErr != nil && attempt < 3 && strings.Contains(stderr.String(), "cannot listen on 127.0.0.1:") {
			t.Logf("callback port %d was taken meanwhile; trying another: %s", port, strings.TrimSpace(stderr.String()))
			continue
		}
		break
	}
	loginTime := time.Since(start)
	// The browser writes its outcome once it has closed, which may be after
	// the login has finished.
	browserOutcome := func() string {
		for {
			if outcome, ok := readOutcome(); ok {
				return outcome
			}
			if ctx.Err() != nil {
				return "(no outcome written by click-allow.mjs within 90s)"
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if runErr != nil {
		t.Fatalf("lakelink login: %v after %s\nstdout:\n%s\nstderr:\n%s\nbrowser: %s",
			runErr, loginTime.Round(time.Millisecond), stdout.String(), stderr.String(), browserOutcome())
	}
	outcome := browserOutcome()
	waitForBrowserExit(t, cmd.Process.Pid, 15*time.Second)
	t.Logf("login took %s; browser done after %s", loginTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if outcome != "ok" {
		t.Errorf("the browser reports: %s", outcome)
	}
	if want := fmt.Sprintf("Logged in to %s as %s", info.WorkspaceURL, info.User.Email); !strings.Contains(stdout.String(), want) {
		t.Errorf("login printed:\n%s\nwant it to contain %q", stdout.String(), want)
	}
	if want := "Tokens stored in " + tokens + "."; !strings.Contains(stdout.String(), want) {
		t.Errorf("login printed:\n%s\nwant it to contain %q", stdout.String(), want)
	}
	if fi, err := os.Stat(screenshot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot of the callback page at %s: %v", screenshot, err)
	} else if keep := os.Getenv("LAKELINK_KEEP_SCREENSHOT"); keep != "" {
		if data, err := os.ReadFile(screenshot); err == nil {
			os.WriteFile(keep, data, 0o644)
		}
	}

	// The store holds the user's token for those scopes.
	data, err := os.ReadFile(tokens)
	if err != nil {
		t.Fatalf("token store: %v", err)
	}
	var store struct {
		Entries map[string]struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(data, &store); err != nil {
		t.Fatalf("token store %s is not JSON: %v", tokens, err)
	}
	if len(store.Entries) != 1 {
		t.Fatalf("token store has %d entries, want 1 (keys: %v)", len(store.Entries), storeKeys(store.Entries))
	}
	for key, entry := range store.Entries {
		if !strings.HasPrefix(key, info.WorkspaceURL+" ") {
			t.Errorf("store key %q is not for the workspace %s", key, info.WorkspaceURL)
		}
		if entry.RefreshToken == "" {
			t.Errorf("no refresh token stored (offline_access is added by login)")
		}
		claims, err := decodeLoginToken(entry.AccessToken)
		if err != nil {
			t.Fatalf("stored access token: %v", err)
		}
		if claims.Sub != info.User.Email || claims.PrincipalType != "user" {
			t.Errorf("access token for %s %q, want the emulator's user %q", claims.PrincipalType, claims.Sub, info.User.Email)
		}
		for _, want := range []string{"sql", "dashboards.genie"} {
			if !slices.Contains(claims.scopes(), want) {
				t.Errorf("access token scopes %v lack %q", claims.scopes(), want)
			}
		}

		// And the app takes it where the scope matters.
		req, _ := http.NewRequest(http.MethodGet, info.AppURL+"/api/genie", nil)
		req.Header.Set("Authorization", "Bearer "+entry.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /api/genie: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/genie with the stored token: %d %s", resp.StatusCode, body)
		}
	}
}

// freeLocalhostCallbackPort finds a free port that databricks-cli may use with
// http://localhost (8020 to 8040, as registered on workspaces).
func freeLocalhostCallbackPort(t *testing.T) int {
	t.Helper()
	for port := 8020; port <= 8040; port++ {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("ports 8020 to 8040 on 127.0.0.1 are all in use")
	return 0
}

// waitForBrowserExit waits until every process of the group is gone (the
// browser script closes Chromium and exits after writing its outcome), and
// kills what is left after the timeout.
func waitForBrowserExit(t *testing.T, pgid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Errorf("the browser script was still running %s after the login; killing it", timeout)
			syscall.Kill(-pgid, syscall.SIGTERM)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type loginTokenClaims struct {
	Sub           string `json:"sub"`
	PrincipalType string `json:"principal_type"`
	Scope         any    `json:"scope"` // a space-separated string, or a list
	Scp           any    `json:"scp"`
}

func (c loginTokenClaims) scopes() []string {
	var out []string
	for _, v := range []any{c.Scope, c.Scp} {
		switch v := v.(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// decodeLoginToken decodes a JWT's payload (the signature is the app's to check).
func decodeLoginToken(token string) (loginTokenClaims, error) {
	var c loginTokenClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("not a JWT (want three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, fmt.Errorf("JWT payload is not base64url: %v", err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("JWT payload is not JSON: %v", err)
	}
	return c, nil
}

func storeKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quoteForSh quotes s for sh, as $BROWSER is run by `sh -c`.
func quoteForSh(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

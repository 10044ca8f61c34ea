package emulator

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStartRefusesBadConfig: each bad setting is an error naming it, and
// nothing is left listening or written.
func TestStartRefusesBadConfig(t *testing.T) {
	backend := shared.Info().Lakebase.PostgresURL
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"token TTL below 1s", Config{TokenTTL: 500 * time.Millisecond}, []string{"500ms", "at least 1s"}},
		{"negative token TTL", Config{TokenTTL: -time.Second}, []string{"-1s", "at least 1s"}},
		{"user without @", Config{UserEmail: "dev.user"}, []string{`"dev.user"`, "email"}},
		{"user with two @", Config{UserEmail: "a@b@example.com"}, []string{`"a@b@example.com"`}},
		{"user with a space", Config{UserEmail: "dev user@example.com"}, []string{`"dev user@example.com"`}},
		{"another loopback address", Config{WorkspaceAddr: "127.0.0.2:0"}, []string{"127.0.0.2:0", "127.0.0.1 only"}},
		{"localhost", Config{AppAddr: "localhost:0"}, []string{"localhost:0", "127.0.0.1 only"}},
		{"all interfaces", Config{LakebaseAddr: ":0"}, []string{`":0"`, "127.0.0.1 only"}},
		{"databricks-cli", Config{OAuthApps: []OAuthApp{{ClientID: "databricks-cli"}}}, []string{`"databricks-cli"`, "reserved"}},
		{"the app's own client", Config{OAuthApps: []OAuthApp{{ClientID: appName}}}, []string{`"` + appName + `"`, "reserved"}},
		{"an app twice", Config{OAuthApps: []OAuthApp{{ClientID: "my-app"}, {ClientID: "my-app"}}}, []string{`"my-app"`, "twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.PostgresURL = backend
			e, err := Start(context.Background(), tc.cfg)
			if err == nil {
				e.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestStartHidesPostgresURLParseErrors: pgx's parse errors may quote the
// password; Start's never does.
func TestStartHidesPostgresURLParseErrors(t *testing.T) {
	for _, url := range []string{"host=h password = SECRET port=x", "postgres://u:p@SECRET@h:x/db"} {
		_, err := Start(context.Background(), Config{PostgresURL: url})
		if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "--postgres-url") {
			t.Errorf("Start with %q: %v; want an error naming --postgres-url without the password", url, err)
		}
	}
}

// TestFailedStartReleasesPortsAndForeignFiles: a Start that fails after
// listening closes its listeners, and deletes no file it did not write.
func TestFailedStartReleasesPortsAndForeignFiles(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{
		"emulator.json":   `{"pid": ` + strconv.Itoa(gone.Process.Pid) + `}`, // of a process gone: no live emulator
		"lakebase-ca.pem": "not ours",
	}
	for name, content := range foreign {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var addrs []string
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	_, err := Start(context.Background(), Config{StateDir: dir, WorkspaceAddr: addrs[0], AppAddr: addrs[1], LakebaseAddr: addrs[2],
		PostgresURL: "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"})
	if err == nil || !strings.Contains(err.Error(), "connecting to the PostgreSQL backend") {
		t.Fatalf("Start with an unreachable backend: %v", err)
	}
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is still taken after the failed Start: %v", addr, err)
			continue
		}
		ln.Close()
	}
	for name, content := range foreign {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != content {
			t.Errorf("%s after the failed Start: %q, %v; want it untouched", name, got, err)
		}
	}
}

// TestStartRefusesLiveStateDir: a second emulator does not take over the
// state dir of a running one, nor touch its files.
func TestStartRefusesLiveStateDir(t *testing.T) {
	dir := t.TempDir()
	first := startEmulator(t, Config{StateDir: dir})
	files := map[string][]byte{}
	for _, name := range []string{"emulator.json", "lakebase-ca.pem"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	_, err := Start(context.Background(), Config{StateDir: dir, PostgresURL: first.Info().Lakebase.PostgresURL})
	if err == nil {
		t.Fatal("a second emulator started in a running one's state dir")
	}
	for _, want := range []string{filepath.Join(dir, "emulator.json"), "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	for name, data := range files {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != string(data) {
			t.Errorf("%s changed by the refused start", name)
		}
	}
}

// TestInfoStateDir: Info names the absolute state dir, temporary or not,
// and the defaults of Config apply.
func TestInfoStateDir(t *testing.T) {
	info := shared.Info()
	if !filepath.IsAbs(info.StateDir) || info.StateDir != shared.tempDir || filepath.Dir(info.Lakebase.CAFile) != info.StateDir {
		t.Errorf("state_dir %q, temporary dir %q, CA file %q", info.StateDir, shared.tempDir, info.Lakebase.CAFile)
	}
	if info.TokenTTLSeconds != 3600 || info.User.Email != "dev.user@example.com" {
		t.Errorf("token_ttl_seconds %d, user %q: want the defaults 3600 and dev.user@example.com", info.TokenTTLSeconds, info.User.Email)
	}
	t.Chdir(t.TempDir())
	e := startEmulator(t, Config{StateDir: "state"})
	want, _ := filepath.Abs("state")
	if got := e.Info().StateDir; got != want {
		t.Errorf("state_dir %q, want %q", got, want)
	}
}

// TestSignInStateExpires: app logins, consents and codes that expired are
// pruned when another is added.
func TestSignInStateExpires(t *testing.T) {
	e := startEmulator(t, Config{Interactive: true})
	past := time.Now().Add(-time.Second)
	e.appSessions.mu.Lock()
	e.appSessions.logins["stale"] = pendingLogin{expires: past}
	e.appSessions.mu.Unlock()
	e.grants.mu.Lock()
	e.grants.pending["stale"] = pendingConsent{authRequest: &authRequest{}, expires: past}
	e.grants.codes["stale"] = &authCode{expires: past}
	e.grants.mu.Unlock()

	// An app login, then a consent page for it, then its code.
	r := do(t, "GET", e.Info().AppURL+"/", "", nil)
	wantStatus(t, r, 302)
	r = do(t, "GET", r.header.Get("Location"), "", nil)
	wantStatus(t, r, 200, `id="allow"`)
	id := regexp.MustCompile(`name="consent_id" value="([^"]+)"`).FindStringSubmatch(r.raw)[1]
	r = do(t, "POST", e.Info().WorkspaceURL+"/oidc/v1/authorize/consent", "",
		strings.NewReader(url.Values{"consent_id": {id}, "decision": {"allow"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, r, 302)

	e.appSessions.mu.Lock()
	_, login := e.appSessions.logins["stale"]
	e.appSessions.mu.Unlock()
	e.grants.mu.Lock()
	_, consent := e.grants.pending["stale"]
	_, code := e.grants.codes["stale"]
	e.grants.mu.Unlock()
	if login || consent || code {
		t.Errorf("expired entries kept: login %v, consent %v, code %v", login, consent, code)
	}
}

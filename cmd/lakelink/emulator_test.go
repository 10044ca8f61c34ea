package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
)

// buildCLI builds the lakelink binary once per test run.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lakelink")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestEmulatorCommand runs `lakelink emulator` as users do: it writes
// emulator.json when ready, serves, and on SIGTERM stops and removes its
// temporary data.
func TestEmulatorCommand(t *testing.T) {
	bin := buildCLI(t)
	state := t.TempDir()
	var stdout, stderr lockedBuffer
	cmd := exec.Command(bin, "emulator", "--state-dir", state, "--token-ttl", "90s", "--app-user-scopes", "sql,dashboards.genie")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	statePath := filepath.Join(state, "emulator.json")
	var info emulator.Info
	deadline := time.Now().Add(60 * time.Second)
	for {
		if data, err := os.ReadFile(statePath); err == nil {
			if err := json.Unmarshal(data, &info); err != nil {
				t.Fatalf("emulator.json is not whole JSON when it appears: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no emulator.json after 60s; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, _ := os.Stat(statePath); fi.Mode().Perm() != 0o600 {
		t.Errorf("emulator.json mode %v, want 0600: it holds client secrets", fi.Mode().Perm())
	}
	if info.TokenTTLSeconds != 90 || info.Lakebase.Port == 0 || info.ServicePrincipal.ClientSecret == "" || info.StateDir != state ||
		!strings.HasPrefix(info.WorkspaceURL, "http://127.0.0.1:") || info.AdminURL != info.WorkspaceURL+"/_emulator" ||
		strings.Join(info.AppUserAPIScopes, ",") != "sql,dashboards.genie" {
		t.Errorf("emulator.json = %+v", info)
	}
	resp, err := http.Get(info.WorkspaceURL + "/oidc/.well-known/oauth-authorization-server")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("workspace not serving: %v", err)
	}
	resp.Body.Close()
	time.Sleep(100 * time.Millisecond) // the summary is printed right after the file is written
	for _, want := range []string{"emulator.json in " + state, "export DATABRICKS_HOST=" + info.WorkspaceURL,
		"export DATABRICKS_CLIENT_ID=" + info.ServicePrincipal.ClientID,
		"export DATABRICKS_CLIENT_SECRET=" + info.ServicePrincipal.ClientSecret,
		"Server=127.0.0.1;", info.AppURL, "User authorization  on, user API scopes sql,dashboards.genie"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	cluster := backendDataDir(t, info.Lakebase.PostgresURL)

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after SIGTERM")
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Errorf("emulator.json left behind after exit")
	}
	if _, err := os.Stat(cluster); !os.IsNotExist(err) {
		t.Errorf("PostgreSQL cluster %s left behind after exit", cluster)
	}
	if _, err := http.Get(info.WorkspaceURL); err == nil {
		t.Errorf("workspace still answers after exit")
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// backendDataDir asks the emulator's PostgreSQL where its data lives.
func backendDataDir(t *testing.T, url string) string {
	t.Helper()
	out, err := exec.Command("psql", "-X", "-A", "-t", "-c", "SHOW data_directory", url).CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestEmulatorCommandErrors(t *testing.T) {
	bin := buildCLI(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"emulator", "--help"}, 0, "emulator.json"},
		{[]string{"emulator", "--token-ttl", "soon"}, 2, "invalid argument \"soon\" for \"--token-ttl\" flag"},
		{[]string{"emulator", "--token-ttl", "0"}, 2, "invalid argument \"0\" for \"--token-ttl\" flag: must be positive"},
		{[]string{"emulator", "--token-ttl", "-5s"}, 2, "invalid argument \"-5s\" for \"--token-ttl\" flag: must be positive"},
		{[]string{"emulator", "--token-ttl", "500ms"}, 1, "token TTL 500ms: must be at least 1s"},
		{[]string{"emulator", "--user", "nobody"}, 1, "user email \"nobody\""},
		{[]string{"emulator", "--postgres-url", "host=h password = SECRET port=x"}, 1, "--postgres-url is not a PostgreSQL connection string"},
		{[]string{"emulator", "--oauth-app", "nouris"}, 2, "want CLIENT_ID=REDIRECT_URI"},
		{[]string{"emulator", "--app-user-scopes", "sql,all-apis"}, 1, "app user API scope \"all-apis\": want one of"},
		{[]string{"emulator", "extra"}, 2, "unexpected argument \"extra\""},
		{[]string{"emulator", "--postgres-url", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}, 1, "connecting to the PostgreSQL backend"},
		{[]string{"nope"}, 2, "unknown command \"nope\""},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		code := 0
		if exitErr, ok := err.(*exec.ExitError); ok {
			code = exitErr.ExitCode()
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("lakelink %v: exit %d, output:\n%s\nwant exit %d mentioning %q", tc.args, code, out, tc.code, tc.want)
		}
		if strings.Contains(string(out), "goroutine ") {
			t.Errorf("lakelink %v printed a Go stack trace", tc.args)
		}
		if strings.Contains(string(out), "SECRET") {
			t.Errorf("lakelink %v printed the password", tc.args)
		}
	}
}

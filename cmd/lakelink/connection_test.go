package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runWithStdin runs lakelink with stdin as its standard input.
func (c *cli) runWithStdin(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if exitErr, ok := err.(*exec.ExitError); ok {
		return stdout.String(), stderr.String(), exitErr.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

const argumentWarning = "lakelink: warning: --connection holds a secret, and other users can read it in the process list: " +
	"use --connection-file or $LAKELINK_CONNECTION\n"

// TestConnectionWithoutSecretsInArguments: the connection string comes
// from --connection-file (a file, or - for standard input) or
// $LAKELINK_CONNECTION without a warning; --connection still works, with
// a one-line warning when it holds a secret; a file others can read gets
// a warning too; bad combinations and files are clear errors.
func TestConnectionWithoutSecretsInArguments(t *testing.T) {
	c := newCLI(t)
	secret := c.em.Info().ServicePrincipal.ClientSecret
	dir := t.TempDir()
	private := filepath.Join(dir, "private.conn")
	// Pairs on lines of their own, as a file holds them.
	if err := os.WriteFile(private, []byte(strings.ReplaceAll(c.m2m(), ";", ";\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	isToken := func(out string) bool { return strings.Count(strings.TrimSpace(out), ".") == 2 }

	out, errOut, code := c.run(nil, "token", "--connection-file", private)
	if code != 0 || !isToken(out) || errOut != "" {
		t.Errorf("--connection-file: %d %q %q", code, out, errOut)
	}
	out, errOut, code = c.runWithStdin(c.m2m()+"\n", "token", "--connection-file", "-")
	if code != 0 || !isToken(out) || errOut != "" {
		t.Errorf("--connection-file -: %d %q %q", code, out, errOut)
	}
	out, errOut, code = c.run([]string{"LAKELINK_CONNECTION=" + c.m2m()}, "token")
	if code != 0 || !isToken(out) || errOut != "" {
		t.Errorf("LAKELINK_CONNECTION: %d %q %q", code, out, errOut)
	}

	// --connection keeps working, and says once why it should not hold a secret.
	out, errOut, code = c.run(nil, "token", "--connection", c.m2m())
	if code != 0 || !isToken(out) || errOut != argumentWarning {
		t.Errorf("--connection with a secret: %d %q, stderr %q, want %q", code, out, errOut, argumentWarning)
	}
	if strings.Contains(errOut, secret) {
		t.Errorf("the warning shows the secret: %s", errOut)
	}
	// The flags win over the environment.
	out, errOut, code = c.run([]string{"LAKELINK_CONNECTION=Host=http://127.0.0.1:1"}, "token", "--connection-file", private)
	if code != 0 || !isToken(out) || errOut != "" {
		t.Errorf("--connection-file over LAKELINK_CONNECTION: %d %q %q", code, out, errOut)
	}
	// No secret, no warning.
	_, errOut, _ = c.run(nil, "token", "--connection", "Host=http://127.0.0.1:1;AuthScheme=OAuthPKCE;InitiateOAuth=OFF")
	if strings.Contains(errOut, "warning") {
		t.Errorf("a warning without a secret: %q", errOut)
	}

	readable := filepath.Join(dir, "readable.conn")
	if err := os.WriteFile(readable, []byte(c.m2m()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(readable, 0o644) // whatever the umask
	out, errOut, code = c.run(nil, "token", "--connection-file", readable)
	want := "lakelink: warning: " + readable + " holds a secret, and the file is readable by other users (mode 0644): chmod 600 " + readable + "\n"
	if code != 0 || !isToken(out) || errOut != want {
		t.Errorf("a file others can read: %d, stderr %q, want %q", code, errOut, want)
	}

	empty := filepath.Join(dir, "empty.conn")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--connection", c.m2m(), "--connection-file", private}, "--connection or --connection-file, not both"},
		{[]string{"--connection-file", filepath.Join(dir, "missing.conn")}, "--connection-file: open " + filepath.Join(dir, "missing.conn") + ": no such file"},
		{[]string{"--connection-file", dir}, "--connection-file: read " + dir},
		{[]string{"--connection-file", empty}, "is empty: write the connection string in it"},
	} {
		_, errOut, code := c.run(nil, append([]string{"token"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, secret) {
			t.Errorf("token %v: %d %q, want an error with %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestHostFlagsFollowHostsRule: --host and DATABRICKS_HOST are checked as
// a connection string's Host is: cleartext http only to a loopback host,
// refused before any token is asked for.
func TestHostFlagsFollowHostsRule(t *testing.T) {
	c := newCLI(t)
	for _, run := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"token", "--host", "http://workspace.example.com"}, "lakelink token: --host: "},
		{[]string{"DATABRICKS_HOST=http://workspace.example.com"}, []string{"token"}, "lakelink token: DATABRICKS_HOST: "},
		{nil, []string{"login", "--host", "http://workspace.example.com"}, "lakelink login: --host: "},
	} {
		_, errOut, code := c.run(run.env, run.args...)
		if code != 1 || !strings.Contains(errOut, run.want) || !strings.Contains(errOut, "cleartext") {
			t.Errorf("%v %v: exit %d, want 1 and %q saying cleartext: %s", run.env, run.args, code, run.want, errOut)
		}
	}
}

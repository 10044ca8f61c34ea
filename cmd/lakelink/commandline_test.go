package main

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandLine is what a command line resolves to: the command, its
// arguments and the flags set, as cobra hands them to the command's body.
type commandLine struct {
	command string
	args    []string
	flags   map[string]string
}

// resolve runs args through lakelink's real command tree and parser with
// every command's body replaced by one that records what it was given; it
// returns that, the exit status, stdout and stderr.
func resolve(args ...string) (got commandLine, status int, stdout, stderr string) {
	var out, errOut strings.Builder
	root := newRootCommand(&out, &errOut)
	var record func(*cobra.Command)
	record = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			record(sub)
		}
		if cmd.HasSubCommands() {
			return
		}
		cmd.Run, cmd.RunE = nil, func(cmd *cobra.Command, args []string) error {
			got = commandLine{command: cmd.CommandPath(), args: args, flags: map[string]string{}}
			cmd.Flags().Visit(func(f *pflag.Flag) { got.flags[f.Name] = f.Value.String() })
			return nil
		}
	}
	record(root)
	status = execute(root, args, &errOut)
	return got, status, out.String(), errOut.String()
}

// TestEveryCommandLineInUse: every command line README.md, build/demo.sh,
// bench/run.py, the bindings' tests and this package's tests give lakelink
// runs the command they name with the flags and arguments they give, and
// so do the spellings Go's flag package took (-flag, --X), and flags after
// the arguments.
func TestEveryCommandLineInUse(t *testing.T) {
	const (
		conn = "Host=https://w.example.com;OAuthClientId=id"
		host = "https://my-workspace.cloud.databricks.com"
		app  = "https://my-app-123.databricksapps.com"
	)
	for _, tc := range []struct {
		args []string
		want commandLine
	}{
		// README.md
		{[]string{"login", "--host", host, "--scopes", "sql,dashboards.genie"},
			commandLine{"lakelink login", nil, map[string]string{"host": host, "scopes": "sql,dashboards.genie"}}},
		{[]string{"call", "--host", host, "--scopes", "sql,dashboards.genie", app + "/api/genie"},
			commandLine{"lakelink call", []string{app + "/api/genie"}, map[string]string{"host": host, "scopes": "sql,dashboards.genie"}}},
		{[]string{"token", "--json", "--connection-file", "sp.conn"},
			commandLine{"lakelink token", nil, map[string]string{"json": "true", "connection-file": "sp.conn"}}},
		{[]string{"doctor", "--connection-file", "sp.conn", "--app", app + "/api/health"},
			commandLine{"lakelink doctor", nil, map[string]string{"connection-file": "sp.conn", "app": app + "/api/health"}}},
		{[]string{"token", "--connection-file", "-"},
			commandLine{"lakelink token", nil, map[string]string{"connection-file": "-"}}},
		{[]string{"oauth", "authorize-url", "--host", "URL"},
			commandLine{"lakelink oauth authorize-url", nil, map[string]string{"host": "URL"}}},
		{[]string{"oauth", "exchange", "--host", "URL", "--code", "http://localhost:8020/?code=c&state=s"},
			commandLine{"lakelink oauth exchange", nil, map[string]string{"host": "URL", "code": "http://localhost:8020/?code=c&state=s"}}},
		{[]string{"sql", "SELECT current_user, now()"},
			commandLine{"lakelink sql", []string{"SELECT current_user, now()"}, map[string]string{}}},
		{[]string{"psql", "--", "-c", "select 1"},
			commandLine{"lakelink psql", []string{"-c", "select 1"}, map[string]string{}}},
		{[]string{"emulator", "--state-dir", ".emulator"},
			commandLine{"lakelink emulator", nil, map[string]string{"state-dir": ".emulator"}}},
		{[]string{"emulator", "--state-dir", ".emulator", "--app-user-scopes", "sql,dashboards.genie"},
			commandLine{"lakelink emulator", nil, map[string]string{"state-dir": ".emulator", "app-user-scopes": "[sql,dashboards.genie]"}}},
		// the bindings' tests (bindings/python/tests/conftest.py, bindings/node/test/helpers.js)
		{[]string{"emulator", "--state-dir", "/tmp/x", "--app-user-scopes", "sql"},
			commandLine{"lakelink emulator", nil, map[string]string{"state-dir": "/tmp/x", "app-user-scopes": "[sql]"}}},
		{[]string{"emulator", "--app-user-scopes=sql", "--app-user-scopes", "files"},
			commandLine{"lakelink emulator", nil, map[string]string{"app-user-scopes": "[sql,files]"}}},
		{[]string{"emulator", "--token-ttl", "30s", "--user", "a@example.com", "--postgres-url", "postgres://x@127.0.0.1/db",
			"--interactive", "--oauth-app", "me=http://localhost:9/cb", "--workspace-port", "1", "--app-port", "2", "--lakebase-port", "3", "-v"},
			commandLine{"lakelink emulator", nil, map[string]string{"token-ttl": "", "user": "a@example.com", "postgres-url": "postgres://x@127.0.0.1/db",
				"interactive": "true", "oauth-app": "", "workspace-port": "1", "app-port": "2", "lakebase-port": "3", "verbose": "true"}}},
		// build/demo.sh (the connection in LAKELINK_CONNECTION)
		{[]string{"token", "--json"}, commandLine{"lakelink token", nil, map[string]string{"json": "true"}}},
		{[]string{"call", app + "/api/whoami"}, commandLine{"lakelink call", []string{app + "/api/whoami"}, map[string]string{}}},
		{[]string{"sql", "SELECT 6 * 7 AS answer"}, commandLine{"lakelink sql", []string{"SELECT 6 * 7 AS answer"}, map[string]string{}}},
		// bench/run.py (the connection in LAKELINK_CONNECTION)
		{[]string{"oauth", "authorize-url"}, commandLine{"lakelink oauth authorize-url", nil, map[string]string{}}},
		{[]string{"oauth", "exchange", "--code", "CB"}, commandLine{"lakelink oauth exchange", nil, map[string]string{"code": "CB"}}},
		// this package's tests
		{[]string{"login", "--connection", conn}, commandLine{"lakelink login", nil, map[string]string{"connection": conn}}},
		{[]string{"token", "--json", "--scopes", "sql,dashboards.genie"},
			commandLine{"lakelink token", nil, map[string]string{"json": "true", "scopes": "sql,dashboards.genie"}}},
		{[]string{"call", "--connection", conn, "-X", "PUT", "-d", "@body.json", "-H", "X-Trace: 42", app + "/api/echo?q=1"},
			commandLine{"lakelink call", []string{app + "/api/echo?q=1"},
				map[string]string{"connection": conn, "request": "PUT", "data": "@body.json", "header": "[X-Trace: 42]"}}},
		{[]string{"call", "--connection", conn, "--app", app, "/api/echo?next=http://x"},
			commandLine{"lakelink call", []string{"/api/echo?next=http://x"}, map[string]string{"connection": conn, "app": app}}},
		{[]string{"call", "-v", "--connection", conn, app + "/api/whoami"},
			commandLine{"lakelink call", []string{app + "/api/whoami"}, map[string]string{"verbose": "true", "connection": conn}}},
		{[]string{"oauth", "authorize-url", "--json", "--host", "URL"},
			commandLine{"lakelink oauth authorize-url", nil, map[string]string{"json": "true", "host": "URL"}}},
		{[]string{"oauth", "refresh", "--host", "URL"}, commandLine{"lakelink oauth refresh", nil, map[string]string{"host": "URL"}}},
		{[]string{"sql", "--connection", conn, "--format", "csv", "SELECT 1"},
			commandLine{"lakelink sql", []string{"SELECT 1"}, map[string]string{"connection": conn, "format": "csv"}}},
		{[]string{"psql", "--connection", conn, "--", "-X", "-A", "-t", "-c", "SELECT current_user"},
			commandLine{"lakelink psql", []string{"-X", "-A", "-t", "-c", "SELECT current_user"}, map[string]string{"connection": conn}}},
		{[]string{"version"}, commandLine{"lakelink version", nil, map[string]string{}}},
		// Flags after the argument, as issue 15 asked.
		{[]string{"sql", "SELECT 1", "--format", "json"},
			commandLine{"lakelink sql", []string{"SELECT 1"}, map[string]string{"format": "json"}}},
		{[]string{"call", "-X", "POST", "-d", `{"a":1}`, app + "/api/echo", "--connection", conn},
			commandLine{"lakelink call", []string{app + "/api/echo"}, map[string]string{"request": "POST", "data": `{"a":1}`, "connection": conn}}},
		// Go's flag package's spellings: a long flag after one dash, a one-letter flag after two.
		{[]string{"token", "-json", "-connection", conn, "-scopes=sql"},
			commandLine{"lakelink token", nil, map[string]string{"json": "true", "connection": conn, "scopes": "sql"}}},
		{[]string{"sql", "-format=csv", "-connection-file", "-", "SELECT 1"},
			commandLine{"lakelink sql", []string{"SELECT 1"}, map[string]string{"format": "csv", "connection-file": "-"}}},
		{[]string{"oauth", "exchange", "-host", "URL", "-code", "-json"}, // a flag's value stays as it is
			commandLine{"lakelink oauth exchange", nil, map[string]string{"host": "URL", "code": "-json"}}},
		{[]string{"call", "--X", "DELETE", "--d", "x", "--H", "A: b", "--v", "-app", app, "/api/x"},
			commandLine{"lakelink call", []string{"/api/x"},
				map[string]string{"request": "DELETE", "data": "x", "header": "[A: b]", "verbose": "true", "app": app}}},
		{[]string{"call", "-X=PATCH", "/api/x", "-app=" + app},
			commandLine{"lakelink call", []string{"/api/x"}, map[string]string{"request": "PATCH", "app": app}}},
		{[]string{"emulator", "-state-dir", "d", "-token-ttl", "90s", "-interactive"},
			commandLine{"lakelink emulator", nil, map[string]string{"state-dir": "d", "token-ttl": "", "interactive": "true"}}},
		{[]string{"psql", "-connection", conn, "--", "-connection", "-X"}, // after --, everything is psql's
			commandLine{"lakelink psql", []string{"-connection", "-X"}, map[string]string{"connection": conn}}},
		// The long names of the one-letter flags.
		{[]string{"call", "--request", "PUT", "--data", "@-", "--header", "A: 1", "--header", "B: 2", "--verbose", "/api/x"},
			commandLine{"lakelink call", []string{"/api/x"},
				map[string]string{"request": "PUT", "data": "@-", "header": "[A: 1,B: 2]", "verbose": "true"}}},
	} {
		got, status, _, stderr := resolve(tc.args...)
		if tc.want.args == nil {
			tc.want.args = []string{}
		}
		if status != 0 || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("lakelink %q: exit %d %s\n got %+v\nwant %+v", tc.args, status, stderr, got, tc.want)
		}
	}
}

// TestHelp: lakelink, help, -h, --help and -help print the help on
// standard output and exit 0; every command lists its flags.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"Usage:", "call", "completion", "doctor", "emulator", "login", "oauth", "psql", "sql", "token", "version"}},
		{[]string{"help"}, []string{"Available Commands:"}},
		{[]string{"-h"}, []string{"Available Commands:"}},
		{[]string{"--help"}, []string{"Available Commands:"}},
		{[]string{"-help"}, []string{"Available Commands:"}},
		{[]string{"help", "sql"}, []string{`lakelink sql "SQL" [flags]`, "--format"}},
		{[]string{"sql", "--help"}, []string{"--connection", "--connection-file", "--host", "--profile", "--scopes", "-v, --verbose", "--format"}},
		{[]string{"call", "-h"}, []string{"lakelink call URL [flags]", "-X, --request", "-d, --data", "-H, --header", "--app"}},
		{[]string{"emulator", "-help"}, []string{"emulator.json", "--state-dir", "--token-ttl duration", "--oauth-app",
			"--app-user-scopes scopes", "X-Forwarded-Access-Token", "/users"}},
		{[]string{"oauth"}, []string{"authorize-url", "exchange", "refresh"}},
		{[]string{"oauth", "exchange", "--help"}, []string{"--code"}},
		{[]string{"psql", "--help"}, []string{"lakelink psql [-- psql arguments]"}},
	} {
		_, status, stdout, stderr := resolve(tc.args...)
		for _, w := range tc.want {
			if status != 0 || !strings.Contains(stdout, w) || stderr != "" {
				t.Errorf("lakelink %q: exit %d, stdout lacks %q:\n%s%s", tc.args, status, w, stdout, stderr)
			}
		}
	}
}

// TestUsageErrorsExit2: a command line that cannot be run as given exits
// 2, says why on standard error and points to the help.
func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `lakelink: unknown command "nope"`},
		{[]string{"tokn"}, `unknown command "tokn" (did you mean token?)`},
		{[]string{"oauth", "nope"}, `lakelink oauth: unknown command "nope"`},
		{[]string{"completion", "nope"}, `lakelink completion: unknown command "nope"`},
		{[]string{"token", "--nope"}, "lakelink token: unknown flag: --nope"},
		{[]string{"token", "-nope"}, "lakelink token: unknown shorthand flag: 'n' in -nope"},
		{[]string{"token", "extra"}, `lakelink token: unexpected argument "extra"`},
		{[]string{"token", "--connection"}, "flag needs an argument: --connection"},
		{[]string{"sql"}, `lakelink sql: give exactly one SQL statement, quoted: lakelink sql "SELECT 1"`},
		{[]string{"sql", "SELECT 1", "SELECT 2"}, "give exactly one SQL statement"},
		{[]string{"call"}, "lakelink call: give exactly one URL"},
		{[]string{"call", "/api/a", "/api/b"}, "lakelink call: give exactly one URL"},
		{[]string{"psql", "-c", "select 1"}, "psql's own arguments go after --"},
		{[]string{"emulator", "--workspace-port", "x"}, `invalid argument "x" for "--workspace-port" flag`},
		{[]string{"version", "x"}, `lakelink version: unexpected argument "x"`},
	} {
		_, status, stdout, stderr := resolve(tc.args...)
		if status != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "--help' for usage") || stdout != "" {
			t.Errorf("lakelink %q: exit %d, want 2 and %q; stdout %q, stderr:\n%s", tc.args, status, tc.want, stdout, stderr)
		}
	}
}

// TestExitStatus: the built CLI exits 0 on success, 1 on failure, 2 for a
// usage error, whether cobra or the command found it.
func TestExitStatus(t *testing.T) {
	noToken := "Host=http://127.0.0.1:1;AuthScheme=OAuthPKCE;InitiateOAuth=OFF"
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"--version"}, 0},
		{[]string{"token", "--connection", noToken}, 1},
		{[]string{"call", "--connection", noToken, "http://127.0.0.1:1/api/x"}, 1},
		{[]string{"sql", "--format", "xml", "SELECT 1"}, 2},
		{[]string{"oauth", "exchange", "--host", "http://127.0.0.1:1"}, 2}, // no --code
		{[]string{"call", "-H", "no colon", "/api/x"}, 2},
		{[]string{"nope"}, 2},
	} {
		cmd := exec.Command(cliBinary, tc.args...)
		cmd.Env = []string{"HOME=" + t.TempDir()}
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != tc.code {
			t.Errorf("lakelink %q: exit %d, want %d:\n%s", tc.args, code, tc.code, out)
		}
	}
	out, _ := exec.Command(cliBinary, "--version").Output()
	if want := "lakelink " + version + "\n"; string(out) != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}
}

// TestCompletion: lakelink completion writes a script for each shell, and
// bash's, sourced, completes lakelink.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_lakelink",
		"zsh":        "#compdef lakelink",
		"fish":       "complete -c lakelink",
		"powershell": "Register-ArgumentCompleter",
	} {
		out, err := exec.Command(cliBinary, "completion", shell).Output()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("completion %s: %v, output lacks %q", shell, err, want)
		}
	}
	out, err := exec.Command("bash", "-c", `source <("$0" completion bash) && complete -p lakelink`, cliBinary).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "lakelink") {
		t.Errorf("bash does not complete lakelink after sourcing the script: %v %s", err, out)
	}
	out, err = exec.Command(cliBinary, "__complete", "sql", "--format", "").Output()
	if err != nil || !strings.HasPrefix(string(out), "table\ncsv\njson\n") {
		t.Errorf("completing sql --format: %v %q", err, out)
	}
}

// TestFlagsAfterTheArgument runs the command lines issue 15 found failing
// under Go's flag package, against the emulator: flags after the SQL
// statement and after the URL.
func TestFlagsAfterTheArgument(t *testing.T) {
	c := newCLI(t)
	out, errOut, code := c.run(nil, "sql", "SELECT 1 AS n", "--format", "json", "--connection", c.lakebase())
	if code != 0 || out != `{"n":1}`+"\n" {
		t.Errorf("sql with the flags after the statement: exit %d %q %s", code, out, errOut)
	}
	url := c.em.Info().AppURL + "/api/echo"
	out, errOut, code = c.run(nil, "call", "-X", "POST", "-d", `{"a":1}`, url, "--connection", c.m2m())
	if code != 0 || !strings.Contains(out, `"method":"POST"`) || !strings.Contains(out, `"body":"{\"a\":1}"`) {
		t.Errorf("call with --connection after the URL: exit %d %q %s", code, out, errOut)
	}
}

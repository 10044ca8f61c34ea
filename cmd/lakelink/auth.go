package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/internal/ops"
)

func init() {
	commands["login"] = command{"log a user in (browser, PKCE) with any scopes and store the tokens", runLogin}
	commands["token"] = command{"print an access token for the connection", runToken}
	commands["call"] = command{"call a Databricks App's /api/ route with a bearer token, curl-like", runCall}
	commands["oauth"] = command{"the OAuth procedures: authorize-url, exchange, refresh (headless login)", runOAuth}
	commands["doctor"] = command{"check config, token, scopes and app reachability step by step", runDoctor}
}

func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lakelink %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

func runLogin(args []string, stdout, stderr io.Writer) int {
	var c connectionFlags
	fs := newFlagSet("login", "login [--host URL] [--profile P] [--scopes a,b,c]\n\n"+
		"Opens the browser at the workspace's sign-in (authorization code with PKCE, client databricks-cli),\n"+
		"and stores the tokens (OAuthSettingsLocation, default in the user's config directory). Custom scopes\n"+
		"such as sql,file.files,dashboards.genie work directly; offline_access is added for a refresh token.", stderr)
	c.register(fs)
	if exit, stop := parseFlags(fs, args, stderr); stop {
		return exit
	}
	o, err := c.userOptions(stderr)
	if err != nil {
		return fail(stderr, "login", err)
	}
	tokens, location, err := auth.Login(context.Background(), o)
	if err != nil {
		return failNotSaved(stdout, stderr, "login", tokens, err)
	}
	info := auth.Describe(tokens.OAuthAccessToken)
	fmt.Fprintf(stdout, "Logged in to %s as %s with scopes %s.\nTokens stored in %s.\n", o.Host, info.Principal, tokens.Scope, location)
	return 0
}

func runToken(args []string, stdout, stderr io.Writer) int {
	var c connectionFlags
	var asJSON bool
	fs := newFlagSet("token", "token [--json] [--connection S | --host URL | --profile P] [--scopes a,b]\n\n"+
		"Prints an access token for the connection (renewed if near expiry).", stderr)
	c.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print JSON: access_token, expires_at, scopes, principal")
	if exit, stop := parseFlags(fs, args, stderr); stop {
		return exit
	}
	o, err := c.options(stderr)
	if err != nil {
		return fail(stderr, "token", err)
	}
	tok, err := ops.GetToken(context.Background(), ops.Conn{Conn: o.Format()})
	if err != nil {
		return fail(stderr, "token", err)
	}
	if !asJSON {
		fmt.Fprintln(stdout, tok.AccessToken)
		return 0
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(tok)
	return 0
}

// headerFlags collects repeated -H flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func runCall(args []string, stdout, stderr io.Writer) int {
	var (
		c       connectionFlags
		method  string
		data    string
		headers headerFlags
		appURL  string
	)
	fs := newFlagSet("call", "call [--app APP_URL] [-X METHOD] [-d DATA|@FILE|@-] [-H 'Name: value']... URL\n\n"+
		"Calls a Databricks App's /api/ route with a bearer token for the connection, prints the body, and on\n"+
		"failure exits 1 with what went wrong and what to check. Without --app, the app is URL's own origin.", stderr)
	c.register(fs)
	fs.StringVar(&appURL, "app", "", "the app's URL (https://host): URL may then be a path relative to it, and one of another origin is refused")
	fs.StringVar(&method, "X", "", "HTTP method (default GET, or POST with -d)")
	fs.StringVar(&data, "d", "", "request body; @FILE reads a file, @- standard input")
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	// URL first or last: flags may follow it, as with curl.
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if target == "" && fs.NArg() == 1 {
		target = fs.Arg(0)
	} else if fs.NArg() > 0 || target == "" {
		fmt.Fprintln(stderr, "lakelink call: give exactly one URL, such as https://my-app.databricksapps.com/api/hello")
		return 2
	}
	body, err := readData(data)
	if err != nil {
		return fail(stderr, "call", err)
	}
	if method == "" {
		method = http.MethodGet
		if data != "" {
			method = http.MethodPost
		}
	}
	h := http.Header{}
	for _, line := range headers {
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			fmt.Fprintf(stderr, "lakelink call: header %q: want 'Name: value'\n", line)
			return 2
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if data != "" && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	o, err := c.options(stderr)
	if err != nil {
		return fail(stderr, "call", err)
	}
	src, err := auth.NewTokenSource(o)
	if err != nil {
		return fail(stderr, "call", err)
	}
	var resp *apps.Response
	if appURL == "" {
		resp, err = apps.Request(context.Background(), src, method, target, h, bytes.NewReader(body))
	} else {
		var app *apps.App
		if app, err = apps.New(appURL, src); err == nil {
			resp, err = app.Do(context.Background(), method, target, bytes.NewReader(body), h)
		}
	}
	if err != nil {
		if resp != nil && len(resp.Body) > 0 && c.verbose {
			stdout.Write(resp.Body)
		}
		return fail(stderr, "call", err)
	}
	stdout.Write(resp.Body)
	if len(resp.Body) > 0 && resp.Body[len(resp.Body)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	return 0
}

// readData reads -d's value: text, @FILE, or @- for standard input.
func readData(data string) ([]byte, error) {
	switch {
	case data == "@-":
		return io.ReadAll(os.Stdin)
	case strings.HasPrefix(data, "@"):
		return os.ReadFile(data[1:])
	}
	return []byte(data), nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/internal/ops"
)

func newLoginCommand() *cobra.Command {
	var c connectionFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "log a user in (browser, PKCE) with any scopes and store the tokens",
		Long: "Opens the browser at the workspace's sign-in (authorization code with PKCE, client databricks-cli),\n" +
			"and stores the tokens (OAuthSettingsLocation, default in the user's config directory). Custom scopes\n" +
			"such as sql,file.files,dashboards.genie work directly; offline_access is added for a refresh token.",
		Example: "  lakelink login --host https://my-workspace.cloud.databricks.com --scopes sql,dashboards.genie",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit(runLogin(&c, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	return cmd
}

func runLogin(c *connectionFlags, stdout, stderr io.Writer) int {
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

func newTokenCommand() *cobra.Command {
	var c connectionFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "print an access token for the connection",
		Long:    "Prints an access token for the connection (renewed if near expiry).",
		Example: "  lakelink token --json --connection-file sp.conn",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit(runToken(&c, asJSON, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: access_token, expires_at, scopes, principal")
	return cmd
}

func runToken(c *connectionFlags, asJSON bool, stdout, stderr io.Writer) int {
	o, err := c.options(stderr)
	if err != nil {
		return fail(stderr, "token", err)
	}
	tok, err := ops.Ops{}.GetToken(context.Background(), ops.Conn{Conn: o.Format()})
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

// callFlags are call's own flags, curl's.
type callFlags struct {
	appURL  string
	method  string
	data    string
	headers []string
}

func newCallCommand() *cobra.Command {
	var (
		c connectionFlags
		f callFlags
	)
	cmd := &cobra.Command{
		Use:   "call URL",
		Short: "call a Databricks App's /api/ route with a bearer token, curl-like",
		Long: "Calls a Databricks App's /api/ route with a bearer token for the connection, prints the body, and on\n" +
			"failure exits 1 with what went wrong and what to check. Without --app, the app is URL's own origin.",
		Example: "  lakelink call https://my-app-123.databricksapps.com/api/whoami --connection-file sp.conn\n" +
			"  lakelink call -X POST -d '{\"a\": 1}' -H 'X-Trace: 42' --app https://my-app-123.databricksapps.com /api/echo",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("give exactly one URL, such as https://my-app.databricksapps.com/api/hello")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return exit(runCall(&c, &f, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	cmd.Flags().StringVar(&f.appURL, "app", "", "the app's URL (https://host): URL may then be a path relative to it, and one of another origin is refused")
	cmd.Flags().StringVarP(&f.method, "request", "X", "", "HTTP method (default GET, or POST with -d)")
	cmd.Flags().StringVarP(&f.data, "data", "d", "", "request body; @FILE reads a file, @- standard input")
	cmd.Flags().StringArrayVarP(&f.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	return cmd
}

func runCall(c *connectionFlags, f *callFlags, target string, stdout, stderr io.Writer) int {
	method, data, appURL := f.method, f.data, f.appURL
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
	for _, line := range f.headers {
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

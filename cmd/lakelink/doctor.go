package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

func newDoctorCommand() *cobra.Command {
	var c connectionFlags
	var appURL string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "check config, token, scopes and app reachability step by step",
		Long: "Checks, step by step, the connection string, the workspace, the token (principal, scopes, expiry),\n" +
			"the workspace API with that token, and with --app an app's reachability, and says what is wrong.",
		Example: "  lakelink doctor --connection-file sp.conn --app https://my-app-123.databricksapps.com/api/health",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit(runDoctor(&c, appURL, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	cmd.Flags().StringVar(&appURL, "app", "", "an app URL to check: its base URL, or an /api/ route to call")
	return cmd
}

func runDoctor(c *connectionFlags, appURL string, stdout, stderr io.Writer) int {
	d := &doctor{w: stdout}
	o, err := c.options(stderr)
	if !d.step("connection string", err, func() string { return describeOptions(o) }) {
		return 1
	}
	if o.Timeout == 0 { // a check should answer soon; retries stop after this
		o.Timeout = doctorTimeout
	}
	d.timeout = o.Timeout
	if scheme := auth.EffectiveScheme(o); scheme != connstr.AuthDatabricks && scheme != connstr.AuthToken {
		ctx, cancel := d.context()
		ep, metadata, err := auth.Discover(ctx, o)
		cancel()
		if !d.step("workspace", err, func() string { return fmt.Sprintf("%s answers; token endpoint %s", metadata, ep.TokenEndpoint) }) {
			return 1
		}
	}
	src, err := auth.NewTokenSource(o)
	if !d.step("token source", err, src.String) {
		return 1
	}
	ctx, cancel := d.context()
	tok, err := src.TokenContext(ctx)
	cancel()
	if !d.step("token", err, func() string {
		info := auth.Describe(tok.AccessToken)
		s := fmt.Sprintf("for %s, scopes %s", orUnknown(info.Principal), orUnknown(strings.Join(info.Scopes, " ")))
		if !tok.Expiry.IsZero() {
			s += fmt.Sprintf(", expires in %s", time.Until(tok.Expiry).Round(time.Second))
		}
		return s
	}) {
		return 1
	}
	ok := true
	if host := workspaceOf(o); host != "" {
		ok = d.checkMe(host, tok.AccessToken) && ok
	}
	if appURL != "" {
		ok = d.checkApp(appURL, src) && ok
	}
	if !ok {
		return 1
	}
	fmt.Fprintln(stdout, "All checks passed.")
	return 0
}

// doctorTimeout bounds each check when the connection string sets no
// Timeout.
const doctorTimeout = 10 * time.Second

// doctor prints one line per check.
type doctor struct {
	w       io.Writer
	timeout time.Duration // of each check
}

// context bounds one check.
func (d *doctor) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d.timeout)
}

// step prints ✓ with what detail says, or ✗ with the error; it reports
// whether the check passed.
func (d *doctor) step(name string, err error, detail func() string) bool {
	if err != nil {
		fmt.Fprintf(d.w, "✗ %s: %v\n", name, err)
		return false
	}
	fmt.Fprintf(d.w, "✓ %s: %s\n", name, detail())
	return true
}

func (d *doctor) checkMe(host, token string) bool {
	ctx, cancel := d.context()
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/api/2.0/preview/scim/v2/Me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: (*auth.Config)(nil).Transport()}).Do(req) // lakelink's User-Agent
	if err != nil {
		return d.step("workspace API", err, nil)
	}
	defer resp.Body.Close()
	var me struct {
		UserName string `json:"userName"`
		Message  string `json:"message"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&me)
	if resp.StatusCode != http.StatusOK {
		hint := ""
		if resp.StatusCode == http.StatusForbidden {
			hint = " (a token with custom scopes may lack all-apis; apps still accept it)"
		}
		return d.step("workspace API", fmt.Errorf("/api/2.0/preview/scim/v2/Me answered %s: %s%s", resp.Status, me.Message, hint), nil)
	}
	return d.step("workspace API", nil, func() string { return "the token is accepted; it belongs to " + me.UserName })
}

func (d *doctor) checkApp(appURL string, src *auth.Source) bool {
	u, err := url.Parse(appURL)
	if err != nil || u.Host == "" {
		return d.step("app", fmt.Errorf("%q is not an absolute URL", appURL), nil)
	}
	app, err := apps.New(u.Scheme+"://"+u.Host, src)
	if err != nil {
		return d.step("app", err, nil)
	}
	ctx, cancel := d.context()
	defer cancel()
	if strings.HasPrefix(u.Path, "/api/") {
		resp, err := app.Do(ctx, http.MethodGet, u.RequestURI(), nil, nil)
		return d.step("app "+u.Path, err, func() string { return fmt.Sprintf("answered %d (%d bytes)", resp.Status, len(resp.Body)) })
	}
	// No route to call: check that the app is up; it sends browsers to sign in.
	client := &http.Client{Transport: (*auth.Config)(nil).Transport(), // lakelink's User-Agent
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL(), nil)
	resp, err := client.Do(req)
	if err != nil {
		return d.step("app", fmt.Errorf("%s is unreachable: %w", app.URL(), err), nil)
	}
	resp.Body.Close()
	return d.step("app", nil, func() string {
		return fmt.Sprintf("%s answers %s; pass --app %s/api/<route> to call a route with the token", app.URL(), resp.Status, app.URL())
	})
}

// describeOptions summarises the options without secrets.
func describeOptions(o *connstr.Options) string {
	s := "AuthScheme " + string(auth.EffectiveScheme(o))
	if o.AuthScheme == "" || o.AuthScheme == connstr.AuthAuto {
		s += " (from Auto)"
	}
	if normalized := o.String(); normalized != "" {
		s += "; " + normalized
	}
	return s
}

// workspaceOf is the workspace URL, when the options name one.
func workspaceOf(o *connstr.Options) string {
	if o.Host == "" {
		host, err := auth.UnifiedAuthHost(o)
		if err != nil {
			return ""
		}
		return strings.TrimRight(host, "/")
	}
	return auth.WorkspaceURL(o)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown: not a JWT)"
	}
	return s
}

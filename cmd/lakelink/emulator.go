package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakelink/lakelink/core/emulator"
)

// emulatorFlags are the emulator command's flags.
type emulatorFlags struct {
	cfg                            emulator.Config
	workspacePort, appPort, pgPort int
	verbose                        bool
}

func newEmulatorCommand() *cobra.Command {
	var f emulatorFlags
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "run a local Databricks workspace, app and Lakebase endpoint for offline development and tests",
		Long: "Runs a local Databricks workspace (OAuth and REST), a Databricks App and a Lakebase\n" +
			"endpoint on 127.0.0.1 until interrupted. Once ready it writes DIR/emulator.json,\n" +
			"which tells tests where everything is and who may use it.\n\n" +
			"More users: POST {\"email\": \"a@example.com\"} (Content-Type: application/json) to\n" +
			"ADMIN_URL/users adds a user with CAN USE on the app, Lakebase access and its\n" +
			"PostgreSQL role (named after the email), and answers {\"email\", \"access_token\"}.",
		Example: "  lakelink emulator --state-dir .emulator\n" +
			"  lakelink emulator --state-dir .emulator --app-user-scopes sql,dashboards.genie",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit(runEmulator(&f, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.cfg.StateDir, "state-dir", "", "directory for emulator.json and the Lakebase CA file (default: a temporary directory, removed on exit)")
	fs.Func("token-ttl", "`duration` of access tokens and Lakebase credentials, at least 1s (default 1h)", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d <= 0 {
			return errors.New("must be positive")
		}
		f.cfg.TokenTTL = d
		return nil
	})
	fs.StringVar(&f.cfg.PostgresURL, "postgres-url", "", "proxy Lakebase sessions to this running PostgreSQL server, a URL or key=value pairs naming a role that may create roles and databases, instead of starting a throwaway cluster")
	fs.BoolVar(&f.cfg.Interactive, "interactive", false, "show a consent page with an Allow button at the authorize endpoint instead of signing in at once")
	fs.StringVar(&f.cfg.UserEmail, "user", "", "email of the user the authorize endpoint signs in (default dev.user@example.com)")
	fs.Func("oauth-app", "register an OAuth client with its redirect URIs: `CLIENT_ID=URI[,URI...]` (repeatable)", func(s string) error {
		app, err := emulator.ParseOAuthApp(s)
		if err != nil {
			return err
		}
		f.cfg.OAuthApps = append(f.cfg.OAuthApps, app)
		return nil
	})
	fs.StringSliceVar(&f.cfg.AppUserAPIScopes, "app-user-scopes", nil, "turn on the app's user authorization with these user API `scopes` (such as sql,dashboards.genie): "+
		"the app then receives, for each user, a token of that user restricted to them and iam.current-user:read, iam.access-control:read "+
		"in X-Forwarded-Access-Token (default: off, no such header)")
	fs.IntVar(&f.workspacePort, "workspace-port", 0, "workspace port on 127.0.0.1 (default: a free port)")
	fs.IntVar(&f.appPort, "app-port", 0, "app port on 127.0.0.1 (default: a free port)")
	fs.IntVar(&f.pgPort, "lakebase-port", 0, "Lakebase gateway port on 127.0.0.1 (default: a free port)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log every request and session to stderr (never tokens or secrets)")
	return cmd
}

func runEmulator(f *emulatorFlags, stdout, stderr io.Writer) int {
	cfg := f.cfg
	cfg.WorkspaceAddr, cfg.AppAddr, cfg.LakebaseAddr = loopback(f.workspacePort), loopback(f.appPort), loopback(f.pgPort)
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	em, err := emulator.Start(startCtx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "lakelink emulator:", err)
		return 1
	}
	printSummary(stdout, em.Info())
	<-ctx.Done()
	stop() // a second signal during Close ends the process the default way
	fmt.Fprintln(stderr, "lakelink emulator: stopping")
	if err := em.Close(); err != nil {
		fmt.Fprintln(stderr, "lakelink emulator: while stopping:", err)
		return 1
	}
	return 0
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// userAuthorization describes the app's user authorization for the
// summary.
func userAuthorization(scopes []string) string {
	if len(scopes) == 0 {
		return "off (no X-Forwarded-Access-Token; --app-user-scopes turns it on)"
	}
	return "on, user API scopes " + strings.Join(scopes, ",") + " (X-Forwarded-Access-Token)"
}

func printSummary(w io.Writer, info emulator.Info) {
	lb := info.Lakebase
	fmt.Fprintf(w, `lakelink emulator is ready (emulator.json in %s)

  Workspace  %s
  App        %s  (%s: /api/whoami, /api/echo, /api/genie)
  Lakebase   %s:%d  (instance %s, endpoint %s; TLS CA %s)
  Admin      %s/stats
  User authorization  %s

Service principal, as Databricks injects it into an app:
  export DATABRICKS_HOST=%s
  export DATABRICKS_CLIENT_ID=%s
  export DATABRICKS_CLIENT_SECRET=%s

Lakebase connection string:
  Host=%s;Server=%s;Port=%d;Database=%s;User=%s;AuthScheme=OAuthClient;OAuthClientId=%s;OAuthClientSecret=%s;Instance=%s;SSLMode=verify-full;SSLServerCert=%s

Users sign in as %s. Press Ctrl-C to stop.
`, info.StateDir, info.WorkspaceURL, info.AppURL, info.AppName, lb.Host, lb.Port, lb.Instance, lb.Endpoint, lb.CAFile,
		info.AdminURL, userAuthorization(info.AppUserAPIScopes), info.WorkspaceURL, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret,
		info.WorkspaceURL, lb.Host, lb.Port, lb.Database, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientID,
		info.ServicePrincipal.ClientSecret, lb.Instance, lb.CAFile, info.User.Email)
}

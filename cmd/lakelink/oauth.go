package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/internal/ops"
)

func newOAuthCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oauth",
		Short: "the OAuth procedures: authorize-url, exchange, refresh (headless login)",
		Long: "The OAuth procedures, for a login on a machine without a browser (headless). Each takes\n" +
			"--host/--connection/--scopes like lakelink login; use the same ones for all three.",
		Example: "  lakelink oauth authorize-url --host URL    # open the URL elsewhere, then\n" +
			"  lakelink oauth exchange --host URL --code 'http://localhost:8020/?code=...&state=...'",
	}
	cmd.AddCommand(
		newOAuthProcedureCommand("authorize-url", "print the URL to open on another device; keeps the PKCE verifier in the token store"),
		newOAuthProcedureCommand("exchange", "--code CODE: exchange the code (or the whole URL the browser ended at) and store the tokens"),
		newOAuthProcedureCommand("refresh", "redeem the stored refresh token now and store the new tokens"),
	)
	return cmd
}

// newOAuthProcedureCommand is the oauth subcommand that runs procedure.
func newOAuthProcedureCommand(procedure, summary string) *cobra.Command {
	var c connectionFlags
	var code string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   procedure,
		Short: summary,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit(runOAuth(procedure, &c, code, asJSON, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	switch procedure {
	case "authorize-url":
		cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: URL, State, PKCEVerifier, as the C and WASI exports give them (for running the exchange yourself)")
	case "exchange":
		cmd.Flags().StringVar(&code, "code", "", "the authorization code, or the URL the browser was sent back to")
	}
	return cmd
}

// runOAuth runs the OAuth procedure authorize-url, exchange or refresh.
func runOAuth(procedure string, c *connectionFlags, code string, asJSON bool, stdout, stderr io.Writer) int {
	o, err := c.userOptions(stderr)
	if err != nil {
		return fail(stderr, "oauth "+procedure, err)
	}
	ctx := context.Background()
	switch procedure {
	case "authorize-url":
		a, err := ops.Ops{}.StartHeadlessLogin(ctx, ops.Conn{Conn: o.Format()})
		if err != nil {
			return fail(stderr, "oauth authorize-url", err)
		}
		if asJSON {
			json.NewEncoder(stdout).Encode(a)
			return 0
		}
		fmt.Fprintf(stdout, "%s\n", a.URL)
		fmt.Fprintln(stderr, "Open this URL in a browser, sign in, then run: lakelink oauth exchange --code '<the URL the browser ends at>'")
		return 0
	case "exchange":
		if code == "" {
			fmt.Fprintln(stderr, "lakelink oauth exchange: give --code (the code, or the URL the browser was sent back to)")
			return 2
		}
		tokens, location, err := auth.FinishHeadless(ctx, o, code)
		if err != nil {
			return failNotSaved(stdout, stderr, "oauth exchange", tokens, err)
		}
		printStored(stdout, tokens, location)
	case "refresh":
		tokens, location, err := auth.RefreshStored(ctx, o)
		if err != nil {
			return failNotSaved(stdout, stderr, "oauth refresh", tokens, err)
		}
		printStored(stdout, tokens, location)
	}
	return 0
}

// failNotSaved is fail, except for tokens obtained that the token store
// could not take (err is then a *auth.NotSavedError): it prints them on
// stdout, the only copy there is (a redeemed refresh token or code no
// longer works), with a warning naming the store.
func failNotSaved(stdout, stderr io.Writer, command string, tokens *auth.OAuthTokens, err error) int {
	var notSaved *auth.NotSavedError
	if tokens == nil || !errors.As(err, &notSaved) {
		return fail(stderr, command, err)
	}
	fmt.Fprintf(stderr, "lakelink %s: the new tokens were not saved: %v\n"+
		"They are printed on standard output and kept nowhere else: keep them (OAuthRefreshToken in a connection string, "+
		"with InitiateOAuth=REFRESH), or fix the store and log in again.\n", command, err)
	fmt.Fprintf(stdout, "OAuthAccessToken=%s\nOAuthRefreshToken=%s\n", tokens.OAuthAccessToken, tokens.OAuthRefreshToken)
	return 1
}

func printStored(w io.Writer, t *auth.OAuthTokens, location string) {
	info := auth.Describe(t.OAuthAccessToken)
	fmt.Fprintf(w, "Tokens for %s (scopes %s) stored in %s; the access token expires at %s.\n",
		info.Principal, t.Scope, location, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second).UTC().Format(time.RFC3339))
}

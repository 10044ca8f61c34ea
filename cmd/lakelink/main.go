// Command lakelink authenticates to Databricks and uses what it reaches:
// Databricks Apps and Lakebase. Its commands: login, token and oauth get
// OAuth tokens (a user's browser login, a service principal, Databricks
// unified auth); call calls an app's /api/ routes with one; sql and psql
// query Lakebase with a minted credential; doctor checks a connection step
// by step; emulator runs a local workspace, app and Lakebase for
// development and tests. Each takes a connection string (--connection or
// $LAKELINK_CONNECTION; see package connstr). Run lakelink help for the
// list, and lakelink completion for shell completion.
//
// The commands are github.com/spf13/cobra commands: flags may come before
// or after the arguments, and -- ends the flags. The exit status is 0 on
// success, 1 on failure and 2 for a command line that cannot be run as
// given (an unknown command or flag, a missing argument).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakelink/lakelink"
)

// version is lakelink's version (the VERSION file beside go.mod).
var version = lakelink.Version()

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command line args and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return execute(newRootCommand(stdout, stderr), args, stderr)
}

// newRootCommand is the lakelink command with every subcommand, writing
// to stdout and stderr.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "lakelink",
		Short: "authenticate to Databricks and use Databricks Apps and Lakebase",
		Long: "lakelink gets OAuth tokens for Databricks (a user's browser login, a service principal, Databricks\n" +
			"unified auth), calls Databricks Apps with them, queries Lakebase with a minted credential, and runs a\n" +
			"local emulator of a workspace, an app and a Lakebase endpoint.",
		Version: version,
		// execute prints errors, and the usage only when it is what went wrong.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	// Declared here, --version has no -v shorthand: -v is the commands' --verbose.
	root.Flags().Bool("version", false, "print the version")
	root.SetVersionTemplate("lakelink {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newLoginCommand(),
		newTokenCommand(),
		newCallCommand(),
		newOAuthCommand(),
		newDoctorCommand(),
		newSQLCommand(),
		newPsqlCommand(),
		newEmulatorCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "print the version",
			Args:  noArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "lakelink", version) },
		},
	)
	root.InitDefaultCompletionCmd() // lakelink completion bash|zsh|fish|powershell
	root.SetGlobalNormalizationFunc(curlLikeNames)
	root.SuggestionsMinimumDistance = 2
	rejectUnknownSubcommands(root)
	return root
}

// rejectUnknownSubcommands makes each command of the tree that only groups
// subcommands (lakelink, oauth, completion) print its help when run alone,
// and refuse an argument that is none of its subcommands as a usage error,
// where cobra would print the help and exit 0.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args, cmd.RunE = subcommandArgs, helpWithoutArguments
	}
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
}

// execute runs root with args (Go-style -flag spellings accepted, see
// withDoubleDashes) and returns the exit status. A command reports its own
// failures and returns an exitStatus; every other error comes from the
// command line itself (cobra and pflag), is printed here, and is a usage
// error: status 2.
func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(withDoubleDashes(root, args))
	cmd, err := root.ExecuteC()
	var status exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return int(status)
	}
	fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
	return 2
}

// exitStatus is the error of a command that has reported its failure
// itself: the process exits with it.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// exit is a command body's exit code as RunE's error.
func exit(code int) error {
	if code == 0 {
		return nil
	}
	return exitStatus(code)
}

// noArgs is the Args of a command that takes flags only.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", strings.Join(args, " "))
	}
	return nil
}

// subcommandArgs is the Args of a command that groups subcommands: an
// argument is a subcommand it does not have.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	err := fmt.Sprintf("unknown command %q", args[0])
	if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
		err += fmt.Sprintf(" (did you mean %s?)", strings.Join(suggestions, " or "))
	}
	return errors.New(err)
}

// helpWithoutArguments is the RunE of a command that groups subcommands:
// it prints its help.
func helpWithoutArguments(cmd *cobra.Command, _ []string) error { return cmd.Help() }

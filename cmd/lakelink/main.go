// Command lakelink authenticates to Databricks and uses what it reaches:
// Databricks Apps and Lakebase. Its commands: login, token and oauth get
// OAuth tokens (a user's browser login, a service principal, Databricks
// unified auth); call calls an app's /api/ routes with one; sql and psql
// query Lakebase with a minted credential; doctor checks a connection step
// by step; emulator runs a local workspace, app and Lakebase for
// development and tests. Each takes a connection string (--connection or
// $LAKELINK_CONNECTION; see package connstr). Run lakelink help for the
// list.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/lakelink/lakelink"
)

// command is one subcommand: its one-line summary and its entry point,
// which returns the process exit code.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"emulator": {"run a local Databricks workspace, app and Lakebase endpoint for offline development and tests", runEmulator},
	"version":  {"print the version", func(_ []string, stdout, _ io.Writer) int { fmt.Fprintln(stdout, "lakelink", version); return 0 }},
}

// version is lakelink's version (the VERSION file beside go.mod).
var version = lakelink.Version()

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lakelink: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: lakelink <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'lakelink <command> --help' for a command's flags.")
}

// parseFlags parses a subcommand's flags. It returns the exit code to use
// when the command should not go on (help asked for: 0; bad flags: 2).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (exit int, stop bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lakelink %s: unexpected argument %q\n", fs.Name(), strings.Join(fs.Args(), " "))
		return 2, true
	}
	return 0, false
}

package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The flag spellings lakelink took before it was on cobra, when Go's flag
// package parsed its command lines, and that pflag reads otherwise: a long
// flag after one dash (-connection S, -format=json) and the one-letter
// flags after two (--X POST, --v).

// curlLikeNames maps the one-letter flag names -X, -d, -H and -v, which
// are shorthands now, to their long names, so that --X, --d, --H and --v
// still work.
func curlLikeNames(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "X":
		return "request"
	case "d":
		return "data"
	case "H":
		return "header"
	case "v":
		return "verbose"
	}
	return pflag.NormalizedName(name)
}

// withDoubleDashes returns args with each -name and -name=value, where
// name is a long flag of the command args run, written --name: pflag would
// read -name as the one-letter flags n, a, m, e. It follows args as cobra
// does, subcommand by subcommand; it leaves flag values, shorthands (-v,
// -X POST), arguments and everything after -- as they are.
func withDoubleDashes(root *cobra.Command, args []string) []string {
	out := make([]string, 0, len(args))
	cmd, inArguments := root, false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			if sub := subcommand(cmd, arg); sub != nil && !inArguments {
				cmd = sub
			} else {
				inArguments = true // cobra looks for a subcommand in the first argument only
			}
			out = append(out, arg)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		var f *pflag.Flag
		switch {
		case strings.HasPrefix(arg, "--"):
			f = lookupFlag(cmd, name)
		case len(name) == 1:
			f = cmd.Flags().ShorthandLookup(name)
		default:
			if f = lookupFlag(cmd, name); f != nil {
				arg = "-" + arg
			}
		}
		out = append(out, arg)
		if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			i++
			out = append(out, args[i]) // the flag's value, whatever it looks like
		}
	}
	return out
}

// subcommand is cmd's subcommand called name, or nil.
func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, sub := range cmd.Commands() {
		if sub.Name() == name || sub.HasAlias(name) {
			return sub
		}
	}
	return nil
}

// lookupFlag is the long flag name of cmd, its own or inherited, with
// --help, or nil.
func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	cmd.InitDefaultHelpFlag()
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}

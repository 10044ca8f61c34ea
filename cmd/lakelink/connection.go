package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/redact"
)

// connectionFlags are the flags every command that talks to Databricks
// takes to say how.
type connectionFlags struct {
	connection     string
	connectionFile string
	host           string
	profile        string
	scopes         string
	verbose        bool
}

func (c *connectionFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.connection, "connection", "", "connection string (default: $LAKELINK_CONNECTION; else DATABRICKS_* variables, --profile, or the login stored for --host). "+
		"Other users can read arguments in the process list: give secrets with --connection-file or $LAKELINK_CONNECTION")
	fs.StringVar(&c.connectionFile, "connection-file", "", "read the connection string from this file (- for standard input); pairs may be on lines of their own, each ending in ;")
	fs.StringVar(&c.host, "host", "", "workspace URL (overrides the connection string's Host)")
	fs.StringVar(&c.profile, "profile", "", "~/.databrickscfg profile, resolved by Databricks unified auth (a 'lakelink login' is stored per host: use --host for it)")
	fs.StringVar(&c.scopes, "scopes", "", "OAuth scopes, comma-separated (default: all-apis, plus offline_access for a user login)")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "log lakelink's OAuth requests to stderr (never tokens or secrets)")
}

// maxConnectionFile bounds what --connection-file reads.
const maxConnectionFile = 1 << 20

// connectionString returns the connection string, from --connection,
// --connection-file or else $LAKELINK_CONNECTION, and warns on stderr when
// a secret lies where other users can read it: in an argument (the
// process list), or in a file readable by others.
func (c *connectionFlags) connectionString(stderr io.Writer) (string, error) {
	switch {
	case c.connection != "" && c.connectionFile != "":
		return "", errors.New("give the connection string once: --connection or --connection-file, not both")
	case c.connection != "":
		warnIfSecret(stderr, "--connection", c.connection, "other users can read it in the process list: "+
			"use --connection-file or $LAKELINK_CONNECTION")
		return c.connection, nil
	case c.connectionFile == "-":
		b, err := io.ReadAll(io.LimitReader(os.Stdin, maxConnectionFile+1))
		if err != nil {
			return "", fmt.Errorf("--connection-file -: reading standard input: %w", err)
		}
		return connectionFileText("standard input", b)
	case c.connectionFile != "":
		b, err := readLimited(c.connectionFile)
		if err != nil {
			return "", fmt.Errorf("--connection-file: %w", err)
		}
		s, err := connectionFileText(c.connectionFile, b)
		if err != nil {
			return "", err
		}
		if fi, err := os.Stat(c.connectionFile); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o044 != 0 {
			warnIfSecret(stderr, c.connectionFile, s, fmt.Sprintf("the file is readable by other users (mode %04o): chmod 600 %s",
				fi.Mode().Perm(), c.connectionFile))
		}
		return s, nil
	}
	return os.Getenv("LAKELINK_CONNECTION"), nil
}

// readLimited reads the file at path, up to maxConnectionFile+1 bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxConnectionFile+1))
}

// connectionFileText is the connection string a --connection-file holds.
func connectionFileText(name string, b []byte) (string, error) {
	if len(b) > maxConnectionFile {
		return "", fmt.Errorf("--connection-file: %s is larger than 1 MiB: is it a connection string?", name)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("--connection-file: %s is empty: write the connection string in it, such as Host=https://...;OAuthClientId=...", name)
	}
	return s, nil
}

// warnIfSecret prints a one-line warning on stderr when the connection
// string s, from where, holds a secret (a secret key, or a URL with a
// password): String masks exactly those, so it differs from Format.
func warnIfSecret(stderr io.Writer, where, s, why string) {
	if o, err := connstr.Parse(s); err == nil && o.String() != o.Format() {
		fmt.Fprintf(stderr, "lakelink: warning: %s holds a secret, and %s\n", where, why)
	}
}

// options builds the connection options: the connection string (see
// connectionString) with the flags laid over it. Without one, a service
// principal or token in DATABRICKS_* variables, or a profile, means
// Databricks unified auth; otherwise a host means the user login stored by
// `lakelink login` for it.
func (c *connectionFlags) options(stderr io.Writer) (*connstr.Options, error) {
	s, err := c.connectionString(stderr)
	if err != nil {
		return nil, err
	}
	o := &connstr.Options{}
	if s != "" {
		if o, err = connstr.Parse(s); err != nil {
			return nil, err
		}
	}
	if redact.URL(c.host) != c.host {
		fmt.Fprintln(stderr, "lakelink: warning: --host holds a password, and other users can read it in the process list: "+
			"put Host in --connection-file or $LAKELINK_CONNECTION")
	}
	if c.host != "" {
		if err := o.Set("Host", c.host); err != nil {
			return nil, fmt.Errorf("--host: %w", err)
		}
	}
	if c.profile != "" {
		o.Profile = c.profile
	}
	if c.scopes != "" {
		o.Scope = strings.ReplaceAll(c.scopes, ",", " ")
	}
	if s == "" && c.profile == "" && os.Getenv("DATABRICKS_CLIENT_SECRET") == "" && os.Getenv("DATABRICKS_TOKEN") == "" &&
		os.Getenv("DATABRICKS_CONFIG_PROFILE") == "" {
		if o.Host == "" {
			if err := o.Set("Host", os.Getenv("DATABRICKS_HOST")); err != nil {
				return nil, fmt.Errorf("DATABRICKS_HOST: %w", err)
			}
		}
		if o.Host != "" {
			o.AuthScheme, o.InitiateOAuth = connstr.AuthOAuthPKCE, connstr.InitiateRefresh
		}
	}
	if c.verbose && o.Logfile == "" {
		o.Logfile, o.Verbosity = "-", 3
	}
	return o, nil
}

// userOptions are the options for a user login (login and oauth commands):
// AuthScheme=OAuthPKCE on the host from the flags, connection string,
// DATABRICKS_HOST or the profile.
func (c *connectionFlags) userOptions(stderr io.Writer) (*connstr.Options, error) {
	o, err := c.options(stderr)
	if err != nil {
		return nil, err
	}
	if o.Host == "" && o.DiscoveryURL == "" {
		if host, err := auth.UnifiedAuthHost(o); err == nil {
			o.Host = host
		}
	}
	if o.Host == "" && o.DiscoveryURL == "" {
		return nil, errors.New("which workspace? give --host, a connection string with Host, DATABRICKS_HOST, or a --profile with a host")
	}
	o.AuthScheme = connstr.AuthOAuthPKCE
	return o, nil
}

// fail prints err as the command's one-line (or diagnosis) error and
// returns exit code 1.
func fail(stderr io.Writer, command string, err error) int {
	fmt.Fprintf(stderr, "lakelink %s: %v\n", command, err)
	return 1
}

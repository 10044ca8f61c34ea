package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// connectionFlags are the flags every command that talks to Databricks
// takes to say how.
type connectionFlags struct {
	connection string
	host       string
	profile    string
	scopes     string
	verbose    bool
}

func (c *connectionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.connection, "connection", "", "connection string (default: $LAKELINK_CONNECTION; else DATABRICKS_* variables, --profile, or the login stored for --host)")
	fs.StringVar(&c.host, "host", "", "workspace URL (overrides the connection string's Host)")
	fs.StringVar(&c.profile, "profile", "", "~/.databrickscfg profile, resolved by Databricks unified auth (a `lakelink login` is stored per host: use --host for it)")
	fs.StringVar(&c.scopes, "scopes", "", "OAuth scopes, comma-separated (default: all-apis, plus offline_access for a user login)")
	fs.BoolVar(&c.verbose, "v", false, "verbose: log lakelink's OAuth requests to stderr (never tokens or secrets)")
}

// options builds the connection options: the connection string (flag, else
// $LAKELINK_CONNECTION) with the flags laid over it. Without one, a
// service principal or token in DATABRICKS_* variables, or a profile, means
// Databricks unified auth; otherwise a host means the user login stored by
// `lakelink login` for it.
func (c *connectionFlags) options() (*connstr.Options, error) {
	s := c.connection
	if s == "" {
		s = os.Getenv("LAKELINK_CONNECTION")
	}
	o := &connstr.Options{}
	if s != "" {
		var err error
		if o, err = connstr.Parse(s); err != nil {
			return nil, err
		}
	}
	if c.host != "" {
		o.Host = c.host
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
			o.Host = os.Getenv("DATABRICKS_HOST")
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
func (c *connectionFlags) userOptions() (*connstr.Options, error) {
	o, err := c.options()
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

package lakebase

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lakelink/lakelink/core/connstr"
)

// This file finds the workspace that mints a Lakebase credential when the
// connection string names only the Lakebase host.

// lakebaseHost is the host name in host when host, the connection
// string's Host (alias DatabricksInstance), is a Lakebase host
// (see isLakebaseHost) rather than a workspace; else "".
func lakebaseHost(host string) string {
	h := strings.TrimRight(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
	if isLakebaseHost(h) {
		return h
	}
	return ""
}

// workspace returns the options that auth sees, their Host the workspace
// URL: Host itself, unless it is absent or a Lakebase host (which names
// the database, and fills Server; see poolConfig); then a copy naming the
// workspace of databricks-sdk-go's configuration (DATABRICKS_HOST, a
// profile, whose credentials it keeps: auth.UnifiedAuthWorkspace). o
// itself is not changed.
func (c *Config) workspace(o *connstr.Options) (*connstr.Options, error) {
	if o.Host != "" && lakebaseHost(o.Host) == "" {
		return o, nil
	}
	bare := *o
	bare.Host = ""
	w, err := c.Auth.UnifiedAuthWorkspace(&bare)
	if err != nil || w.Host == "" {
		msg := "no workspace to mint a Lakebase credential with"
		if o.Host != "" {
			msg += fmt.Sprintf(": Host %s is a Lakebase host, which gives the Server, not the workspace", o.Host)
		}
		if err != nil {
			msg += fmt.Sprintf(" (%v)", err)
		}
		return nil, errors.New(msg + "; give the workspace URL in Host (with the Lakebase host as Server), DATABRICKS_HOST " +
			"or a profile, or use AuthScheme=Password with Password")
	}
	return w, nil
}

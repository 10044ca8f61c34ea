package auth

import (
	"fmt"
	"net/url"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/redact"
	"github.com/lakelink/lakelink/core/weburl"
)

// AuthScheme=Databricks is databricks-sdk-go's unified auth: through the
// SDK's config package in the native builds (sdk.go), through this
// package's own resolver of the same DATABRICKS_* variables and profiles
// in lakelink.wasm (unified_wasip1.go), whose SDK config package would
// link Azure, GCP, gRPC and OpenTelemetry clients a module cannot use.

// UnifiedAuthHost is the workspace URL that Databricks unified auth
// resolves for the options (DATABRICKS_HOST, a profile) with the default
// configuration, or "" with the reason it resolves none.
func UnifiedAuthHost(o *connstr.Options) (string, error) {
	w, err := (*Config)(nil).UnifiedAuthWorkspace(o)
	if err != nil {
		return "", err
	}
	return w.Host, nil
}

// UnifiedAuthWorkspace is a copy of o that names the workspace Databricks
// unified auth resolves for o (DATABRICKS_HOST, a profile): its Host that
// workspace's URL ("" when it resolves none) and its Profile the profile
// that was read, if any. Unified auth reads no profile for a configuration
// that gives its host, unless it names the profile (databricks-sdk-go's
// config file loader): the copy names it, so unified auth resolves the
// same credentials for the copy as for o (a profile's client_id and
// client_secret, token, ...), and lakelink's own schemes have the Host
// they need.
func (c *Config) UnifiedAuthWorkspace(o *connstr.Options) (*connstr.Options, error) {
	host, profile, err := c.unifiedWorkspace(o)
	if err != nil {
		return nil, err
	}
	w := *o
	w.Host, w.Profile = host, profile
	return &w, nil
}

// checkUnifiedHost holds the workspace URL unified auth found (in
// DATABRICKS_HOST or a profile of ~/.databrickscfg, where connstr does not
// see it) to Host's rule (weburl.Check: http only for a loopback host),
// before the first request there and before any secret is sent. An empty
// host passes: there is nothing to send to.
func checkUnifiedHost(host string) error {
	if host == "" {
		return nil
	}
	u, err := url.Parse(host)
	if err == nil {
		err = weburl.Check(u)
	}
	if err != nil {
		return fmt.Errorf("Databricks unified auth: the workspace URL %s (from DATABRICKS_HOST or the profile) is refused: %w",
			redact.URL(host), err)
	}
	return nil
}

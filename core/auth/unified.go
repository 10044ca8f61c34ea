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

// UnifiedAuthHost is the default configuration's Config.UnifiedAuthHost.
func UnifiedAuthHost(o *connstr.Options) (string, error) {
	return (*Config)(nil).UnifiedAuthHost(o)
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

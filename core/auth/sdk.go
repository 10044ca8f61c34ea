package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/databricks/databricks-sdk-go/config"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/httphook"
)

// SDKConfig is the databricks-sdk-go configuration the options describe:
// what AuthScheme=Databricks (and Auto without a secret or password)
// resolves through the SDK's unified auth. Fields not given are left for
// the SDK to find in the environment (DATABRICKS_*) and ~/.databrickscfg.
func SDKConfig(o *connstr.Options) *config.Config {
	cfg := &config.Config{
		Host:         o.Host,
		Profile:      o.Profile,
		ConfigFile:   o.ConfigFile,
		DiscoveryURL: o.DiscoveryURL,
		ClientID:     o.OAuthClientID,
		ClientSecret: o.OAuthClientSecret,
		Token:        o.Token,
		Scopes:       o.Scopes(),
	}
	if o.Timeout > 0 {
		cfg.HTTPTimeoutSeconds = int(o.Timeout / time.Second)
	}
	cfg.HTTPTransport = httphook.Transport // nil: the SDK's own
	return cfg
}

// sdkSource serves AuthScheme=Databricks through the SDK, which caches and
// refreshes its own tokens; a personal access token is used as is.
func sdkSource(o *connstr.Options) (*Source, error) {
	cfg := SDKConfig(o)
	s := &Source{identity: "Databricks unified auth", refreshable: true}
	s.fetch = func(ctx context.Context, refused string) (*oauth2.Token, error) {
		if refused != "" { // a fresh configuration has no cached token to return again
			cfg = SDKConfig(o)
		}
		if err := cfg.EnsureResolved(); err != nil {
			return nil, fmt.Errorf("Databricks unified auth: %w", err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		tok, err := cfg.GetTokenSource().Token(ctx)
		if err != nil {
			if cfg.AuthType == "pat" { // a personal access token is no OAuth token, but a bearer all the same
				return &oauth2.Token{AccessToken: cfg.Token, TokenType: "Bearer"}, nil
			}
			return nil, fmt.Errorf("Databricks unified auth (host %q, profile %q): %w", cfg.Host, cfg.Profile, err)
		}
		s.log.info("Databricks unified auth resolved", "auth_type", cfg.AuthType, "host", cfg.Host)
		return tok, nil
	}
	return s, nil
}

//go:build !wasip1

package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/databricks/databricks-sdk-go/config"
	sdkauth "github.com/databricks/databricks-sdk-go/config/experimental/auth"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/redact"
)

// sdkConfig is the databricks-sdk-go configuration the options describe:
// what AuthScheme=Databricks (and Auto without a secret or password)
// resolves through the SDK's unified auth. Fields not given are left for
// the SDK to find in the environment (DATABRICKS_*) and ~/.databrickscfg.
func (c *Config) sdkConfig(o *connstr.Options) *config.Config {
	cfg := &config.Config{
		Host:         o.Host,
		Profile:      o.Profile,
		ConfigFile:   o.ConfigFile,
		DiscoveryURL: o.DiscoveryURL,
		ClientID:     o.OAuthClientID,
		ClientSecret: o.OAuthClientSecret,
		Token:        o.Token,
		Scopes:       o.Scopes(),
		Loaders:      []config.Loader{config.ConfigAttributes, config.ConfigFile, hostRule{}},
	}
	if o.Timeout > 0 {
		cfg.HTTPTimeoutSeconds = int(o.Timeout / time.Second)
	}
	cfg.HTTPTransport = c.use().transport
	return cfg
}

// sdkSource serves AuthScheme=Databricks through the SDK, which caches and
// refreshes its own tokens; a personal access token is used as is.
func (c *Config) sdkSource(o *connstr.Options) (*Source, error) {
	cfg := c.sdkConfig(o)
	s := &Source{identity: "Databricks unified auth", refreshable: true}
	s.fetch = func(ctx context.Context, refused string) (*oauth2.Token, error) {
		if refused != "" { // a fresh configuration has no cached token to return again
			cfg = c.sdkConfig(o)
		}
		if err := cfg.EnsureResolved(); err != nil {
			return nil, SDKError("Databricks unified auth", err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		tok, err := cfg.GetTokenSource().Token(ctx)
		if cfg.AuthType != "" { // known once the SDK has chosen its credentials
			s.setAuthType(cfg.AuthType)
		}
		if err != nil {
			if cfg.AuthType == "pat" { // a personal access token is no OAuth token, but a bearer all the same
				return &oauth2.Token{AccessToken: cfg.Token, TokenType: "Bearer"}, nil
			}
			return nil, SDKError(fmt.Sprintf("Databricks unified auth (host %q, profile %q)", redact.URL(cfg.Host), cfg.Profile), err)
		}
		s.log.info("Databricks unified auth resolved", "auth_type", cfg.AuthType, "host", cfg.Host)
		return tok, nil
	}
	return s, nil
}

// unifiedWorkspace is the workspace URL that unified auth resolves for the
// options and the profile it read (the SDK's configuration file loader
// sets Profile to the profile it read, DEFAULT included), for
// UnifiedAuthWorkspace.
func (c *Config) unifiedWorkspace(o *connstr.Options) (host, profile string, err error) {
	cfg := c.use().sdkConfig(o)
	if err := cfg.EnsureResolved(); err != nil {
		return "", "", SDKError("Databricks configuration", err)
	}
	return cfg.Host, cfg.Profile, nil
}

// hostRule is the last of unified auth's configuration loaders: after the
// SDK's own have found the workspace URL (DATABRICKS_HOST, a profile of
// ~/.databrickscfg), where connstr does not see it, it holds that URL to
// Host's rule (weburl.Check: http only for a loopback host), before the
// SDK's first request there and before any secret is sent.
type hostRule struct{}

func (hostRule) Name() string { return "lakelink's rule for workspace URLs" }

func (hostRule) Configure(cfg *config.Config) error {
	if err := checkUnifiedHost(cfg.Host); err != nil {
		return &ownError{err}
	}
	return nil
}

// SDKCredentials lets a databricks-sdk-go client call with the tokens of
// s. An error of s reaches the client's caller through SDKError as it is.
func SDKCredentials(s *Source) config.CredentialsStrategy {
	return config.NewTokenSourceStrategy("lakelink", sdkauth.TokenSourceFn(func(ctx context.Context) (*oauth2.Token, error) {
		tok, err := s.TokenContext(ctx)
		if err != nil {
			return nil, &ownError{err}
		}
		return tok, nil
	}))
}

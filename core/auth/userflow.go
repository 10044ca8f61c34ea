package auth

import (
	"context"
	"net/url"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
)

// Defaults of the user login (AuthScheme=OAuthPKCE).
const (
	// DefaultClientID is the public OAuth client every Databricks workspace
	// registers for the databricks CLI and SDKs.
	DefaultClientID = "databricks-cli"
	// DefaultCallbackURL is where the browser returns; databricks-cli has
	// http://localhost:8020 to 8040 registered.
	DefaultCallbackURL = "http://localhost:8020"
	// LoginTimeout bounds how long a browser login may take.
	LoginTimeout = 5 * time.Minute
)

// DefaultUserScopes are requested when Scope is not given.
var DefaultUserScopes = []string{"all-apis", "offline_access"}

// userFlow is a user login's settings, resolved from the options.
type userFlow struct {
	cfg         *Config // in use (see Config.use)
	o           *connstr.Options
	clientID    string
	scopes      []string
	callbackURL string // "" means DefaultCallbackURL, with fallback ports
	metadata    string
}

func (c *Config) newUserFlow(o *connstr.Options) (*userFlow, error) {
	metadata, err := metadataURL(o)
	if err != nil {
		return nil, err
	}
	f := &userFlow{cfg: c, o: o, clientID: o.OAuthClientID, scopes: withOfflineAccess(o.Scopes()), callbackURL: o.CallbackURL, metadata: metadata}
	if f.clientID == "" {
		f.clientID = DefaultClientID
	}
	return f, nil
}

// withOfflineAccess is a user login's scopes: DefaultUserScopes when none
// are given, else those given plus offline_access, without which there is
// no refresh token and a stored login ends with its first access token.
func withOfflineAccess(scopes []string) []string {
	if len(scopes) == 0 {
		return DefaultUserScopes
	}
	if slices.Contains(scopes, "offline_access") {
		return scopes
	}
	return append(slices.Clone(scopes), "offline_access")
}

// redirectURI is the callback URL a flow without a listener uses: the
// configured one, else DefaultCallbackURL.
func (f *userFlow) redirectURI() string {
	if f.callbackURL != "" {
		return f.callbackURL
	}
	return DefaultCallbackURL
}

// newState returns a random OAuth state.
func newState() string { return oauth2.GenerateVerifier()[:22] }

func (f *userFlow) clientAuth() clientAuth {
	return clientAuth{id: f.clientID, secret: f.o.OAuthClientSecret, basic: f.o.OAuthClientSecret != ""}
}

func (f *userFlow) endpoints(ctx context.Context, log *logger) (*Endpoints, error) {
	return f.cfg.discover(ctx, log, f.metadata)
}

// authorizationURL builds the authorize request with a PKCE S256 challenge.
func (f *userFlow) authorizationURL(ep *Endpoints, redirectURI, state, verifier string) string {
	cfg := oauth2.Config{ClientID: f.clientID, Endpoint: oauth2.Endpoint{AuthURL: ep.AuthorizationEndpoint}, RedirectURL: redirectURI, Scopes: f.scopes}
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// redeemCode exchanges an authorization code.
func (f *userFlow) redeemCode(ctx context.Context, log *logger, code, codeVerifier, redirectURI string) (*oauth2.Token, error) {
	ep, err := f.endpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	return exchange(ctx, f.cfg.client, log, ep.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {codeVerifier}, "redirect_uri": {redirectURI}}, f.clientAuth())
}

// refresh redeems a refresh token.
func (f *userFlow) refresh(ctx context.Context, log *logger, refreshToken string) (*oauth2.Token, error) {
	ep, err := f.endpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	return exchange(ctx, f.cfg.client, log, ep.TokenEndpoint, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refreshToken}}, f.clientAuth())
}

// storeKey is the identity's key in a token store.
func (f *userFlow) storeKey() string { return StoreKey(hostOf(f.o), f.clientID, f.scopes) }

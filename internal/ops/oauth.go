package ops

import (
	"context"
	"fmt"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// The OAuth procedures keep the CData connectors' names on the wire (URL,
// State, PKCEVerifier; OAuthAccessToken, ...), which the Python and Node
// bindings hand to their users as they are.

// AuthorizationURLRequest asks for GetOAuthAuthorizationUrl; the optional
// fields default to the connection string's (CallbackURL, Scope) or a
// random state.
type AuthorizationURLRequest struct {
	Conn        string `json:"conn"`
	CallbackURL string `json:"callback_url"`
	Scope       string `json:"scope"`
	State       string `json:"state"`
}

// AuthorizationURL is where to send the user to sign in. The caller keeps
// State and PKCEVerifier (a secret) until the exchange.
type AuthorizationURL struct {
	URL          string `json:"URL"`
	State        string `json:"State"`
	PKCEVerifier string `json:"PKCEVerifier"`
}

// String shows the URL and state, never the PKCE verifier.
func (a AuthorizationURL) String() string {
	return fmt.Sprintf("AuthorizationURL{URL: %s, State: %s, PKCEVerifier: ***}", a.URL, a.State)
}

// GoString is String, so that %#v hides the verifier too.
func (a AuthorizationURL) GoString() string { return a.String() }

func authorizationURLOf(a *auth.AuthorizationURL) *AuthorizationURL {
	return &AuthorizationURL{URL: a.URL, State: a.State, PKCEVerifier: a.PKCEVerifier}
}

// GetAuthorizationURL is GetOAuthAuthorizationUrl: lakelink.h's
// lakelink_oauth_authorization_url, the WASI operation
// oauth_authorization_url.
func (p Ops) GetAuthorizationURL(ctx context.Context, r AuthorizationURLRequest) (a *AuthorizationURL, err error) {
	defer classify(&err, Auth)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	got, err := p.auth().GetOAuthAuthorizationURL(ctx, o, r.CallbackURL, r.Scope, r.State)
	if err != nil {
		return nil, err
	}
	return authorizationURLOf(got), nil
}

// StartHeadlessLogin is GetAuthorizationURL for a login whose tokens the
// token store keeps (`lakelink oauth authorize-url`): the PKCE verifier
// and state wait in the store for the exchange.
func (p Ops) StartHeadlessLogin(ctx context.Context, r Conn) (a *AuthorizationURL, err error) {
	defer classify(&err, Auth)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	got, err := p.auth().StartHeadless(ctx, o)
	if err != nil {
		return nil, err
	}
	return authorizationURLOf(got), nil
}

// AccessTokenRequest asks for GetOAuthAccessToken.
type AccessTokenRequest struct {
	Conn string `json:"conn"`
	// Verifier is the code, or the whole URL the browser was sent back to.
	Verifier     string `json:"verifier"`
	AuthMode     string `json:"auth_mode"` // WEB (the default) or APP
	CallbackURL  string `json:"callback_url"`
	State        string `json:"state"`
	PKCEVerifier string `json:"pkce_verifier"`
}

// OAuthTokens are the tokens of an exchange or a refresh (secrets).
type OAuthTokens struct {
	OAuthAccessToken  string `json:"OAuthAccessToken"`
	OAuthRefreshToken string `json:"OAuthRefreshToken"`
	ExpiresIn         int64  `json:"ExpiresIn"` // seconds
	Scope             string `json:"Scope"`
}

// String shows the expiry and scope, never a token.
func (t OAuthTokens) String() string {
	return fmt.Sprintf("OAuthTokens{OAuthAccessToken: ***, OAuthRefreshToken: ***, ExpiresIn: %d, Scope: %s}", t.ExpiresIn, t.Scope)
}

// GoString is String, so that %#v hides the tokens too.
func (t OAuthTokens) GoString() string { return t.String() }

func oauthTokensOf(t *auth.OAuthTokens) *OAuthTokens {
	return &OAuthTokens{OAuthAccessToken: t.OAuthAccessToken, OAuthRefreshToken: t.OAuthRefreshToken, ExpiresIn: t.ExpiresIn, Scope: t.Scope}
}

// GetAccessToken is GetOAuthAccessToken: lakelink.h's
// lakelink_oauth_access_token, the WASI operation oauth_access_token.
func (p Ops) GetAccessToken(ctx context.Context, r AccessTokenRequest) (t *OAuthTokens, err error) {
	defer classify(&err, Auth)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	got, err := p.auth().GetOAuthAccessToken(ctx, o, r.Verifier, auth.AuthMode(r.AuthMode), r.CallbackURL, r.State, r.PKCEVerifier)
	if err != nil {
		return nil, err
	}
	return oauthTokensOf(got), nil
}

// RefreshRequest asks for RefreshOAuthAccessToken.
type RefreshRequest struct {
	Conn string `json:"conn"`
	// RefreshToken defaults to the connection string's OAuthRefreshToken.
	RefreshToken string `json:"refresh_token"`
}

// RefreshAccessToken is RefreshOAuthAccessToken: lakelink.h's
// lakelink_oauth_refresh, the WASI operation oauth_refresh. Keep the new
// refresh token: the old one is spent.
func (p Ops) RefreshAccessToken(ctx context.Context, r RefreshRequest) (t *OAuthTokens, err error) {
	defer classify(&err, Auth)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	got, err := p.auth().RefreshOAuthAccessToken(ctx, o, r.RefreshToken)
	if err != nil {
		return nil, err
	}
	return oauthTokensOf(got), nil
}

// Package auth obtains Databricks OAuth tokens the way a situation needs,
// all driven by one connection string (see package connstr):
//
//   - AuthScheme=Databricks: databricks-sdk-go's unified auth (profiles in
//     ~/.databrickscfg, DATABRICKS_* variables, including those Databricks
//     injects into an App, the databricks CLI, Azure and GCP);
//   - AuthScheme=OAuthClient: a service principal's client id and secret
//     (client credentials grant);
//   - AuthScheme=OAuthPKCE: a user login (authorization code with PKCE) with
//     any scopes, stored and refreshed per InitiateOAuth;
//   - AuthScheme=Token: a bearer token given as is;
//   - AuthScheme=Auto (the default): Password when a password is given,
//     OAuthClient when a client secret is, else Databricks.
//
// NewTokenSource returns a *Source, an oauth2.TokenSource shared by every
// caller of one Config that asks for the same identity: one cached token,
// renewed ahead of expiry, one renewal in flight at a time. A Config keeps
// a bounded number of them (MaxIdentities, IdentityIdleTime). A Config
// carries what a program sets (the HTTP transport, how a browser login
// reaches the user); the package-level functions use the default one.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/useragent"
)

// DefaultTimeout bounds a token request, retries included, when the
// connection string gives no Timeout.
const DefaultTimeout = 60 * time.Second

// Source is the token source of one identity. It is safe for concurrent
// use and implements oauth2.TokenSource.
type Source struct {
	identity    string // who and where, for messages; never a secret
	refreshable bool
	// authType names how the tokens are had, in the User-Agent of the
	// requests made with them (auth/TYPE), in the Databricks SDKs' words:
	// oauth-m2m, oauth-u2m, pat; for Databricks unified auth, the SDK's
	// (resolved, set by the fetch).
	authType atomic.Pointer[string]
	log      *logger
	// fetch gets a token. refused, when not empty, is a token a server
	// refused: fetch must not return it again.
	fetch func(ctx context.Context, refused string) (*oauth2.Token, error)

	mu      sync.Mutex // held while fetching: one renewal at a time
	tok     *oauth2.Token
	fetched time.Time
	// quietUntil holds off early renewals after one failed, so that callers
	// use the still-valid token instead of each retrying in turn.
	quietUntil time.Time
}

// Token returns a valid access token, renewing it when it is near expiry.
func (s *Source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext is Token with a context bounding the renewal.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.tok != nil && (!NeedsRenewal(s.tok.Expiry, s.fetched, now) || (now.Before(s.quietUntil) && now.Before(s.tok.Expiry))) {
		return publicCopy(s.tok), nil
	}
	return s.fetchLocked(ctx, "")
}

// Renew returns a token other than refused, a token a server refused (a
// 401, or a Lakebase login refused with 28P01): when refused is still the
// current one, it fetches anew, bypassing every cache.
func (s *Source) Renew(ctx context.Context, refused string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken != refused && time.Now().Before(s.tok.Expiry) {
		return publicCopy(s.tok), nil
	}
	return s.fetchLocked(ctx, refused)
}

func (s *Source) fetchLocked(ctx context.Context, refused string) (*oauth2.Token, error) {
	tok, err := s.fetch(useragent.WithAuthType(ctx, s.AuthType), refused)
	now := time.Now()
	if err != nil {
		if s.tok != nil && refused == "" && s.tok.Expiry.After(now) { // renewing early failed; the token still works
			s.quietUntil = now.Add(min(30*time.Second, s.tok.Expiry.Sub(now)/4))
			s.log.info("early renewal failed; using the current token", "identity", s.identity, "error", err.Error())
			return publicCopy(s.tok), nil
		}
		s.log.error("no token", "identity", s.identity, "error", err.Error())
		return nil, err
	}
	s.tok, s.fetched, s.quietUntil = tok, now, time.Time{}
	s.log.info("token obtained", "identity", s.identity, "expires", tok.Expiry.Format(time.RFC3339))
	return publicCopy(tok), nil
}

// AuthType names how the source gets its tokens, as the Databricks SDKs
// do in their User-Agent (auth/TYPE): oauth-m2m (a service principal),
// oauth-u2m (a user login), pat (a token given as is), or the auth type
// Databricks unified auth resolved (such as databricks-cli), once it has.
func (s *Source) AuthType() string {
	if t := s.authType.Load(); t != nil {
		return *t
	}
	return ""
}

// setAuthType sets AuthType's answer.
func (s *Source) setAuthType(t string) { s.authType.Store(&t) }

// CanRefresh reports whether an expired token can be renewed without the
// user: true for client credentials, refresh tokens and the SDK's chain,
// false for a token given as is.
func (s *Source) CanRefresh() bool { return s.refreshable }

// String names the identity, never a secret.
func (s *Source) String() string { return s.identity }

// NeedsRenewal reports whether a credential fetched at fetched and
// expiring at expiry should be renewed at now: within a quarter of its
// lifetime of expiry, at most 5 minutes before. A zero expiry never needs
// renewal. Tokens and Lakebase credentials follow this one rule.
func NeedsRenewal(expiry, fetched, now time.Time) bool {
	return !expiry.IsZero() && !now.Before(renewalTime(expiry, fetched))
}

// renewalTime is when NeedsRenewal turns true for a credential fetched at
// fetched and expiring at expiry.
func renewalTime(expiry, fetched time.Time) time.Time {
	return expiry.Add(-min(5*time.Minute, expiry.Sub(fetched)/4))
}

// RenewsAt is when Token will renew accessToken, the token it holds: not
// before then does it return another, unless Renew is told the token was
// refused. Zero when accessToken is not the token it holds, when that has
// no expiry, or when its renewal is due already.
func (s *Source) RenewsAt(accessToken string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil || s.tok.AccessToken != accessToken || s.tok.Expiry.IsZero() {
		return time.Time{}
	}
	if at := renewalTime(s.tok.Expiry, s.fetched); at.After(time.Now()) {
		return at
	}
	return time.Time{}
}

// publicCopy returns the token without its refresh token, which stays with
// the source.
func publicCopy(t *oauth2.Token) *oauth2.Token {
	c := *t
	c.RefreshToken = ""
	return &c
}

// NewTokenSource returns the default configuration's token source for the
// identity the options describe (see Config.NewTokenSource).
func NewTokenSource(o *connstr.Options) (*Source, error) {
	return (*Config)(nil).NewTokenSource(o)
}

// NewTokenSource returns the token source for the identity the options
// describe, shared with every earlier caller of c that described the same
// one while c keeps it (see Config). It validates the options but does not
// contact any server; options it refuses leave nothing behind.
func (c *Config) NewTokenSource(o *connstr.Options) (*Source, error) {
	c = c.use()
	scheme := EffectiveScheme(o)
	return c.sources.GetOrAdd(identityKey(scheme, o), func() (*Source, error) {
		log, err := newLogger(o)
		if err != nil {
			return nil, err
		}
		var s *Source
		switch scheme {
		case connstr.AuthPassword:
			return nil, errors.New("AuthScheme=Password: a Postgres password is not a Databricks token; " +
				"give OAuthClientId and OAuthClientSecret, or use AuthScheme=OAuthPKCE or Databricks, to call Databricks")
		case connstr.AuthToken:
			s, err = staticSource(o)
		case connstr.AuthOAuthClient:
			s, err = c.clientCredentialsSource(o)
		case connstr.AuthOAuthPKCE:
			s, err = c.userSource(o)
		default:
			s, err = c.sdkSource(o)
		}
		if err != nil {
			return nil, err
		}
		s.log = log
		return s, nil
	})
}

// EffectiveScheme resolves AuthScheme=Auto (or none): Password when a
// password is given, OAuthClient when a client secret is, else Databricks.
func EffectiveScheme(o *connstr.Options) connstr.AuthScheme {
	switch {
	case o.AuthScheme != "" && o.AuthScheme != connstr.AuthAuto:
		return o.AuthScheme
	case o.Password != "":
		return connstr.AuthPassword
	case o.OAuthClientSecret != "":
		return connstr.AuthOAuthClient
	}
	return connstr.AuthDatabricks
}

// identityKey tells identities apart. Secrets enter it hashed, so that a
// wrong secret never shares the token a right one got. Timeout and logging
// are in it too: a source keeps the settings it was made with.
func identityKey(scheme connstr.AuthScheme, o *connstr.Options) string {
	h := sha256.New()
	for _, secret := range []string{o.OAuthClientSecret, o.Token, o.OAuthAccessToken, o.OAuthRefreshToken, o.OAuthVerifier} {
		h.Write([]byte(secret))
		h.Write([]byte{0})
	}
	return strings.Join([]string{string(scheme), o.Host, o.DiscoveryURL, o.Profile, o.ConfigFile, o.OAuthClientID,
		strings.Join(o.Scopes(), " "), string(o.InitiateOAuth), o.OAuthSettingsLocation, o.CallbackURL,
		o.Timeout.String(), o.Logfile, strconv.Itoa(o.Verbosity), hex.EncodeToString(h.Sum(nil))}, "\x00")
}

// timeout is the options' Timeout, or DefaultTimeout.
func timeout(o *connstr.Options) time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// metadataURL is where the OAuth server's endpoints are published.
func metadataURL(o *connstr.Options) (string, error) {
	if o.DiscoveryURL != "" {
		return o.DiscoveryURL, nil
	}
	if o.Host == "" {
		return "", errors.New("no workspace: give Host (the workspace URL) or DiscoveryURL")
	}
	return WorkspaceURL(o) + "/oidc/.well-known/oauth-authorization-server", nil
}

// WorkspaceURL is Host with a scheme (https unless given) and without a
// trailing slash; empty without a Host.
func WorkspaceURL(o *connstr.Options) string {
	host := strings.TrimRight(o.Host, "/")
	if host != "" && !strings.Contains(host, "://") {
		host = "https://" + host
	}
	return host
}

// StaticSource returns the token source of AuthScheme=Token, o's Token,
// that no Config keeps: a token given as is has nothing to renew and
// nothing to share, so a caller that uses it once (an App user's token,
// say) leaves nothing behind. NewTokenSource returns the same, kept, for
// callers that share it (package lakebase's identities). Like
// NewTokenSource, it contacts no server.
func StaticSource(o *connstr.Options) (*Source, error) {
	log, err := newLogger(o)
	if err != nil {
		return nil, err
	}
	s, err := staticSource(o)
	if err != nil {
		return nil, err
	}
	s.log = log
	return s, nil
}

// staticSource serves AuthScheme=Token: the token as given, never renewed.
// A Token without the shape of one bearer token (CheckBearerToken) is a
// *BearerTokenError.
func staticSource(o *connstr.Options) (*Source, error) {
	if o.Token == "" {
		return nil, errors.New("AuthScheme=Token needs Token (a personal access token or OAuth access token)")
	}
	if err := CheckBearerToken(o.Token); err != nil {
		return nil, fmt.Errorf("the Token property: %w", err)
	}
	tok := &oauth2.Token{AccessToken: o.Token, TokenType: "Bearer", Expiry: jwtExpiry(o.Token)}
	s := &Source{identity: "the given Token", fetch: func(_ context.Context, refused string) (*oauth2.Token, error) {
		if refused != "" {
			return nil, errors.New("the Token given was refused and cannot be renewed: give a new one")
		}
		if !tok.Expiry.IsZero() && time.Now().After(tok.Expiry) {
			return nil, fmt.Errorf("the Token given expired at %s and cannot be renewed: give a new one", tok.Expiry.Format(time.RFC3339))
		}
		return tok, nil
	}}
	s.setAuthType("pat")
	return s, nil
}

// clientCredentialsSource serves AuthScheme=OAuthClient: a service
// principal's client credentials grant, authenticated by HTTP Basic as
// Databricks expects, scope all-apis unless Scope says otherwise.
func (c *Config) clientCredentialsSource(o *connstr.Options) (*Source, error) {
	if o.OAuthClientID == "" || o.OAuthClientSecret == "" {
		return nil, errors.New("AuthScheme=OAuthClient needs OAuthClientId and OAuthClientSecret (a service principal's OAuth secret)")
	}
	metadata, err := metadataURL(o)
	if err != nil {
		return nil, err
	}
	scopes := o.Scopes()
	if len(scopes) == 0 {
		scopes = []string{"all-apis"}
	}
	s := &Source{identity: fmt.Sprintf("service principal %s at %s", o.OAuthClientID, hostOf(o)), refreshable: true}
	s.setAuthType("oauth-m2m")
	s.fetch = func(ctx context.Context, _ string) (*oauth2.Token, error) { // each grant is a new token
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		ep, err := c.discover(ctx, s.log, metadata)
		if err != nil {
			return nil, err
		}
		return exchange(ctx, c.client, s.log, ep.TokenEndpoint,
			map[string][]string{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}},
			clientAuth{id: o.OAuthClientID, secret: o.OAuthClientSecret, basic: true})
	}
	return s, nil
}

// hostOf names the workspace (or OAuth server) for messages.
func hostOf(o *connstr.Options) string {
	if o.Host != "" {
		return WorkspaceURL(o)
	}
	return o.DiscoveryURL
}

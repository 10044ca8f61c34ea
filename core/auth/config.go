package auth

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/cache"
	"github.com/lakelink/lakelink/core/internal/useragent"
)

// Config is how lakelink authenticates in a program: the HTTP transport of
// its requests, how a browser login reaches the user, and how much it
// keeps, as documented fields that a program sets before first use (as
// pgxpool.Config carries its hooks). A Config also holds what it has made,
// each in a cache bounded by MaxIdentities and IdentityIdleTime (least
// recently used first out, and whatever is unused for IdentityIdleTime):
// one token source per identity, the OAuth servers' endpoints it
// discovered, and its memory:// token stores. A token source keeps the
// transport of the Config that made it, so configurations do not share
// them. What a cache forgets is only forgotten: a token source a caller
// still holds keeps working, with its token and its memory:// store, and
// the next NewTokenSource for its identity makes a new one, which fetches
// a token anew. Two Configs in one process are independent; Close releases
// what a Config holds.
//
// The zero Config is ready to use. Use a Config by pointer and do not
// change its fields after first use. A nil *Config is the package's
// default configuration, which the package-level functions
// (NewTokenSource, Login, ...) use, with the default bounds.
type Config struct {
	// HTTPTransport, when not nil, carries every HTTP request the Config
	// makes: OAuth discovery and token endpoint calls, and the
	// databricks-sdk-go clients (unified auth, and Lakebase credential
	// minting and SCIM through package lakebase), under lakelink's
	// User-Agent (see UserAgent). nil: http.DefaultTransport. The WASI
	// build sets it to the host's HTTP import.
	HTTPTransport http.RoundTripper

	// UserAgent names the binding or program over lakelink in the
	// User-Agent of every HTTP request the Config makes (and package
	// lakebase's, and internal/ops' App calls), after lakelink's own
	// "lakelink/VERSION go/VERSION os/OS" and before the request's
	// "auth/TYPE", as the Databricks SDKs' user agent extras: key/value
	// pairs separated by spaces, such as "binding/python python/3.11.7"
	// (the Python binding's). Empty: lakelink's own part alone. A value
	// that is not such pairs is left out (CheckUserAgent tells why).
	UserAgent string

	// OpenBrowser opens the authorization URL of a browser login
	// (InitiateOAuth=GETANDREFRESH, Login, AuthMode=APP). nil: $BROWSER
	// if set, else the platform's opener (xdg-open, open, rundll32).
	OpenBrowser func(url string) error

	// Prompt receives the authorization URL of a browser login, so that a
	// user can open it by hand when no browser opens. nil: standard error.
	Prompt io.Writer

	// MaxIdentities bounds each of the Config's caches: the token sources
	// (one per identity), the discovered endpoints (one per OAuth server)
	// and the memory:// stores (one per name); package lakebase keeps its
	// identities within it too. 0 (or less): DefaultMaxIdentities.
	MaxIdentities int

	// IdentityIdleTime is how long a cached token source, endpoint or
	// memory:// store stays unused before it is forgotten: a token source
	// is used when NewTokenSource returns it, a store when a token is read
	// from or written to it. 0 (or less): DefaultIdentityIdleTime.
	IdentityIdleTime time.Duration

	once      sync.Once
	transport http.RoundTripper                  // HTTPTransport sending lakelink's User-Agent
	client    *http.Client                       // the OAuth calls' client, over transport
	sources   *cache.Cache[string, *Source]      // identityKey -> its token source
	discovery *cache.Cache[string, *Endpoints]   // metadata URL -> the endpoints it publishes
	memory    *cache.Cache[string, *memoryStore] // memory:// store name -> the store
}

// defaultConfig is the nil *Config's: what the package-level functions use.
var defaultConfig Config

// Defaults of the Config's bounds.
const (
	DefaultMaxIdentities    = 1000
	DefaultIdentityIdleTime = time.Hour
)

// use returns c ready for use: the default configuration for a nil c.
func (c *Config) use() *Config {
	if c == nil {
		c = &defaultConfig
	}
	c.once.Do(func() {
		extra := c.UserAgent
		if CheckUserAgent(extra) != nil {
			extra = ""
		}
		c.transport = useragent.Transport(c.HTTPTransport, extra) // nil: over http.DefaultTransport
		c.client = &http.Client{Transport: c.transport}
		size, idle := c.IdentityBounds()
		c.sources = cache.New[string, *Source](size, idle, nil)
		c.discovery = cache.New[string, *Endpoints](size, idle, nil)
		c.memory = cache.New[string, *memoryStore](size, idle, nil)
	})
	return c
}

// Transport is the HTTP transport of every request c makes: HTTPTransport
// (nil: http.DefaultTransport) sending lakelink's User-Agent, with
// UserAgent and the auth type of the request's token source. Package
// lakebase sends the workspace API calls through it.
func (c *Config) Transport() http.RoundTripper { return c.use().transport }

// CheckUserAgent reports whether s may be a Config's UserAgent:
// key/value pairs separated by spaces, each key and value of letters,
// digits and _ . + - (such as "binding/python python/3.11.7").
func CheckUserAgent(s string) error { return useragent.Check(s) }

// IdentityBounds returns MaxIdentities and IdentityIdleTime, defaults
// applied: the bounds of every per-identity cache kept for c (a nil c is
// the default configuration).
func (c *Config) IdentityBounds() (maxIdentities int, idle time.Duration) {
	if c == nil {
		c = &defaultConfig
	}
	maxIdentities, idle = c.MaxIdentities, c.IdentityIdleTime
	if maxIdentities <= 0 {
		maxIdentities = DefaultMaxIdentities
	}
	if idle <= 0 {
		idle = DefaultIdentityIdleTime
	}
	return maxIdentities, idle
}

// Close forgets every token source, endpoint and memory:// store c holds.
// Token sources and stores handed out keep working. A Config used after
// Close works but keeps nothing: each call starts afresh. The default
// configuration (a nil c) lives as long as the process: closing it does
// nothing.
func (c *Config) Close() {
	if c == nil {
		return
	}
	c = c.use()
	c.sources.Close()
	c.discovery.Close()
	c.memory.Close()
}

// openBrowser opens url with OpenBrowser, or $BROWSER or the platform's
// opener.
func (c *Config) openBrowser(url string) error {
	if c.OpenBrowser != nil {
		return c.OpenBrowser(url)
	}
	return openBrowser(url)
}

// prompt is Prompt, or standard error.
func (c *Config) prompt() io.Writer {
	if c.Prompt != nil {
		return c.Prompt
	}
	return os.Stderr
}

// The default configuration's operations: the package-level functions of
// a program that sets no Config.

// GetOAuthAuthorizationURL is the default configuration's Config.GetOAuthAuthorizationURL.
func GetOAuthAuthorizationURL(ctx context.Context, o *connstr.Options, callbackURL, scope, state string) (*AuthorizationURL, error) {
	return (*Config)(nil).GetOAuthAuthorizationURL(ctx, o, callbackURL, scope, state)
}

// GetOAuthAccessToken is the default configuration's Config.GetOAuthAccessToken.
func GetOAuthAccessToken(ctx context.Context, o *connstr.Options, verifier string, mode AuthMode, callbackURL, state, pkceVerifier string) (*OAuthTokens, error) {
	return (*Config)(nil).GetOAuthAccessToken(ctx, o, verifier, mode, callbackURL, state, pkceVerifier)
}

// RefreshOAuthAccessToken is the default configuration's Config.RefreshOAuthAccessToken.
func RefreshOAuthAccessToken(ctx context.Context, o *connstr.Options, refreshToken string) (*OAuthTokens, error) {
	return (*Config)(nil).RefreshOAuthAccessToken(ctx, o, refreshToken)
}

// Login is the default configuration's Config.Login.
func Login(ctx context.Context, o *connstr.Options) (*OAuthTokens, string, error) {
	return (*Config)(nil).Login(ctx, o)
}

// StartHeadless is the default configuration's Config.StartHeadless.
func StartHeadless(ctx context.Context, o *connstr.Options) (*AuthorizationURL, error) {
	return (*Config)(nil).StartHeadless(ctx, o)
}

// FinishHeadless is the default configuration's Config.FinishHeadless.
func FinishHeadless(ctx context.Context, o *connstr.Options, code string) (*OAuthTokens, string, error) {
	return (*Config)(nil).FinishHeadless(ctx, o, code)
}

// RefreshStored is the default configuration's Config.RefreshStored.
func RefreshStored(ctx context.Context, o *connstr.Options) (*OAuthTokens, string, error) {
	return (*Config)(nil).RefreshStored(ctx, o)
}

// OpenStore is the default configuration's Config.OpenStore.
func OpenStore(location string) (Store, error) {
	return (*Config)(nil).OpenStore(location)
}

package lakebase

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/cache"
)

// Config is how lakebase connects in a program, as documented fields that
// a program sets before first use (as pgxpool.Config carries its hooks).
// A Config also holds what it has made: the workspace identities and the
// Lakebase credentials its pools and sessions share. It keeps the
// identities (with their credentials) within its Auth configuration's
// bounds, MaxIdentities and IdentityIdleTime: least recently used out, and
// any not connected as for IdentityIdleTime. A pool keeps working with
// the identity it was opened with when the Config forgets it; the next
// pool for that identity gets a new one, with credentials minted anew.
// Two Configs in one process are independent; Close releases what a
// Config holds.
//
// The zero Config is ready to use. Use a Config by pointer and do not
// change its fields after first use. A nil *Config is the package's
// default configuration, which the package-level functions (Connect,
// Open, Login) use.
type Config struct {
	// Auth makes the workspace tokens that mint Lakebase credentials (or
	// are the password), and carries the HTTP transport of the workspace
	// API calls (credential minting, SCIM). nil: auth's default
	// configuration, the one auth's package-level functions use.
	Auth *auth.Config

	// ThreadWait makes sessions wait for the server's answers on the
	// calling thread, retrying for a short while (on Linux) before parking
	// in Go's network poller. Set it when the callers are threads of
	// another runtime (the C library does): their goroutines are locked to
	// those threads, and parking one costs two thread hand-offs per
	// statement. See threadWaitConn.
	ThreadWait bool

	once       sync.Once
	identities *cache.Cache[*auth.Source, *identity] // an identity's token source -> the identity
	mu         sync.Mutex                            // guards the maps below
	warned     map[string]bool                       // servers warned about by warnUnverifiedToken
}

// defaultConfig is the nil *Config's: what the package-level functions use.
var defaultConfig Config

// use returns c ready for use: the default configuration for a nil c.
func (c *Config) use() *Config {
	if c == nil {
		c = &defaultConfig
	}
	c.once.Do(func() {
		size, idle := c.Auth.IdentityBounds()
		c.identities = cache.New[*auth.Source, *identity](size, idle, nil)
		c.warned = map[string]bool{}
	})
	return c
}

// Close forgets the identities c holds, with their credentials. Pools
// and sessions opened through c keep working. A Config used after Close
// works but keeps nothing. The default configuration (a nil c) lives as
// long as the process: closing it does nothing. Close does not close
// Auth, which the program owns.
func (c *Config) Close() {
	if c == nil {
		return
	}
	c.use().identities.Close()
}

// httpTransport is the transport of the workspace API calls: Auth's
// (the default auth configuration's for a nil Auth), which sends
// lakelink's User-Agent.
func (c *Config) httpTransport() http.RoundTripper { return c.Auth.Transport() }

// Connect opens a pool and one session in it, so that a wrong host, user
// or credential is reported now rather than at the first query.
func (c *Config) Connect(ctx context.Context, o *connstr.Options) (*Pool, error) {
	c = c.use()
	cfg, err := c.sessionConfig(o)
	if err != nil {
		return nil, err
	}
	return c.connectPool(ctx, o, cfg)
}

// sessionConfig is poolConfig's configuration for o, whose sessions wait
// on the calling thread when c says so (see ThreadWait): what Connect's
// pools and Open's session start from.
func (c *Config) sessionConfig(o *connstr.Options) (*pgxpool.Config, error) {
	cfg, err := poolConfig(o)
	if err != nil || !c.ThreadWait {
		return cfg, err
	}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return feedable(waitOnThread(c), c), nil
	}
	cfg.ConnConfig.BuildFrontend = buildFrontend
	return cfg, nil
}

// The default configuration's operations: the package-level functions of
// a program that sets no Config.

// Connect is the default configuration's Config.Connect.
func Connect(ctx context.Context, o *connstr.Options) (*Pool, error) {
	return (*Config)(nil).Connect(ctx, o)
}

// Open is the default configuration's Config.Open.
func Open(ctx context.Context, o *connstr.Options) (*Conn, error) {
	return (*Config)(nil).Open(ctx, o)
}

// Login is the default configuration's Config.Login.
func Login(ctx context.Context, o *connstr.Options) (*LoginInfo, error) {
	return (*Config)(nil).Login(ctx, o)
}

package lakebase

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/connstr"
)

// ConfigurePool readies cfg, a pgxpool configuration a program builds
// itself (with pgxpool.ParseConfig, and its own sizes, hooks and tracer),
// to log in to Lakebase as the connection string o says: it sets the
// server, port, database, user, TLS (per SSLMode), Timeout and
// application_name of cfg.ConnConfig (with no password and no fallback
// hosts), and a BeforeConnect that puts the current credential into each
// new session's configuration before running cfg's own BeforeConnect, if
// any. The credential is minted when first needed, cached per identity
// (shared with c's other pools) and renewed ahead of its expiry, so the
// pool outlives any one credential. It finds the user now, so that a
// wrong token is reported here; the server is first reached by the pool.
//
// Unlike lakelink's own pools, a pgxpool cannot try a login again: a
// credential the server refuses before its expiry (revoked) fails that
// Acquire, and is renewed at its expiry. pgx's type map is left as it is:
// add ConfigureTypeMap to AfterConnect for lakelink's (exact json,
// numeric and arrays in Values).
func (c *Config) ConfigurePool(ctx context.Context, cfg *pgxpool.Config, o *connstr.Options) error {
	k, err := c.NewConnector(o)
	if err != nil {
		return err
	}
	user, err := k.User(ctx)
	if err != nil {
		return err
	}
	cc, lb := cfg.ConnConfig, k.conn
	cc.Host, cc.Port, cc.Database, cc.User, cc.Password = lb.Host, lb.Port, lb.Database, user, ""
	cc.TLSConfig, cc.Fallbacks, cc.ConnectTimeout = lb.TLSConfig, nil, lb.ConnectTimeout
	if name, ok := lb.RuntimeParams["application_name"]; ok {
		cc.RuntimeParams["application_name"] = name
	}
	own := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if err := k.BeforeConnect(ctx, cc); err != nil {
			return err
		}
		if own != nil {
			return own(ctx, cc)
		}
		return nil
	}
	return nil
}

// ConfigurePool is the default configuration's Config.ConfigurePool.
func ConfigurePool(ctx context.Context, cfg *pgxpool.Config, o *connstr.Options) error {
	return (*Config)(nil).ConfigurePool(ctx, cfg, o)
}

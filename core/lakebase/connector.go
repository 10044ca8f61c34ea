package lakebase

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/lakelink/lakelink/core/connstr"
)

// This file holds Connector: lakelink's login for pools that are not
// lakelink's own (database/sql through package stdlib, a program's own
// pgxpool through ConfigurePool), by the same rules as Connect's and
// Open's (target, login).

// Connector logs new sessions of one connection string in, for a pool
// another package runs: a session's configuration starts from ConnConfig;
// BeforeConnect puts the current user and credential into it; AfterConnect
// readies the session (lakelink's type map); and Login runs a connect
// function, renewing a credential the server refused (28P01) and trying
// once more, and says in lakelink's words why a login failed.
//
// Who logs in (the token's principal, unless User is given) is found at
// the first BeforeConnect or Login, not by NewConnector, which does no
// I/O; a failure there is tried again at the next. A Connector is safe
// for concurrent use.
type Connector struct {
	c    *Config
	o    *connstr.Options
	conn *pgx.ConnConfig // sessionConfig's, without user and password

	mu sync.Mutex // held while finding t
	t  *target
}

// NewConnector returns the Connector of the options, or an error for
// options that name no server or whose TLS settings are wrong.
func (c *Config) NewConnector(o *connstr.Options) (*Connector, error) {
	c = c.use()
	cfg, err := c.sessionConfig(o)
	if err != nil {
		return nil, err
	}
	return &Connector{c: c, o: o, conn: cfg.ConnConfig}, nil
}

// NewConnector is the default configuration's Config.NewConnector.
func NewConnector(o *connstr.Options) (*Connector, error) {
	return (*Config)(nil).NewConnector(o)
}

// ConnConfig returns a copy of the configuration a session starts from:
// server, port, database, TLS (per SSLMode), application_name and Timeout,
// without user and password, which BeforeConnect sets.
func (k *Connector) ConnConfig() *pgx.ConnConfig { return k.conn.Copy() }

// User is the Postgres user the sessions log in as, found (once) with ctx.
func (k *Connector) User(ctx context.Context) (string, error) {
	t, err := k.target(ctx)
	if err != nil {
		return "", err
	}
	return t.user, nil
}

// BeforeConnect readies cc, one login's copy of ConnConfig (or of a
// configuration with the same server): the user, the current credential
// (renewed ahead of its expiry, one renewal in flight), and a dial
// function that stays with the server it reached. Its signature is
// pgxpool.Config.BeforeConnect's and pgx stdlib's OptionBeforeConnect's.
func (k *Connector) BeforeConnect(ctx context.Context, cc *pgx.ConnConfig) error {
	t, err := k.target(ctx)
	if err != nil {
		return err
	}
	cc.User = t.user
	return t.beforeConnect(ctx, cc)
}

// AfterConnect readies a new session: lakelink's type map (see
// ConfigureTypeMap). Its signature is pgxpool.Config.AfterConnect's and
// pgx stdlib's OptionAfterConnect's.
func (k *Connector) AfterConnect(ctx context.Context, c *pgx.Conn) error { return afterConnect(ctx, c) }

// Login runs connect, which logs a session in (through BeforeConnect), by
// lakelink's rules: a login refused for its password (28P01) renews the
// credential and runs connect once more; the error of a failed login is
// an *Error that says why (TLS required, a certificate that does not
// verify, a User that is not the token's principal).
func (k *Connector) Login(ctx context.Context, connect func(context.Context) error) error {
	t, err := k.target(ctx)
	if err != nil {
		return err
	}
	_, err = login(ctx, t, func(ctx context.Context) (struct{}, error) { return struct{}{}, connect(ctx) })
	return err
}

// target is the connection string's target, found with ctx the first
// time it is asked for (and again after a failure).
func (k *Connector) target(ctx context.Context) (*target, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.t == nil {
		t, err := k.c.newTarget(ctx, k.o, k.conn.Copy())
		if err != nil {
			return nil, err
		}
		k.t = t
	}
	return k.t, nil
}

package lakebase

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// Defaults of a Lakebase connection.
const (
	DefaultPort     = 5432
	DefaultDatabase = "databricks_postgres"
)

// Pool is a pool of Lakebase sessions. It is safe for concurrent use.
type Pool struct {
	pool      *pgxpool.Pool
	cred      *credential
	host      string // host:port, for messages
	user      string
	plaintext bool // SSLMode=disable
	caGiven   bool // SSLServerCert, rather than the system's roots, verifies the server
	// unverifiedToken: the workspace token goes to a server whose
	// certificate is not checked (see unverifiedToken), so a login refused
	// with 28P01 is not tried again with a renewed one.
	unverifiedToken bool
	id              *identity // whose token mints the password; nil for AuthScheme=Password
	userGiven       bool      // User was in the options, not the token's principal
}

// connectPool is Connect with cfg, the pool configuration poolConfig made
// of o (which tests may have changed, to dial elsewhere).
func (c *Config) connectPool(ctx context.Context, o *connstr.Options, cfg *pgxpool.Config) (p *Pool, err error) {
	p = &Pool{host: net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))),
		plaintext: cfg.ConnConfig.TLSConfig == nil, caGiven: o.SSLServerCert != "", userGiven: o.User != ""}
	if p.user, p.id, p.cred, err = c.userAndCredential(ctx, o); err != nil {
		return nil, err
	}
	if mode := sslMode(o, cfg.ConnConfig.Host); unverifiedToken(p.cred, mode) {
		p.unverifiedToken = true
		c.warnUnverifiedToken(p.host, mode)
	}
	cfg.ConnConfig.User = p.user
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		cc.DialFunc = oneServerPerLogin(cc.DialFunc) // cc is this login's copy
		password, err := p.cred.get(ctx)
		cc.Password = password
		return err
	}
	if p.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, p.wrap(err)
	}
	session, err := p.acquire(ctx)
	if err != nil {
		p.pool.Close()
		return nil, err
	}
	session.Release()
	return p, nil
}

// userAndCredential resolves who logs in and with what password source:
// the identity whose token mints it (nil for AuthScheme=Password).
func (c *Config) userAndCredential(ctx context.Context, o *connstr.Options) (string, *identity, *credential, error) {
	if auth.EffectiveScheme(o) == connstr.AuthPassword {
		if o.User == "" {
			return "", nil, nil, errors.New("AuthScheme=Password needs User")
		}
		return o.User, nil, staticPassword(o.Password), nil
	}
	id, err := c.identityFor(o)
	if err != nil {
		return "", nil, nil, err
	}
	user := o.User
	if user == "" {
		if user, err = id.principalName(ctx); err != nil {
			return "", nil, nil, err
		}
	}
	return user, id, c.credentialFor(o, id), nil
}

// User is the Postgres user the pool logs in as.
func (p *Pool) User() string { return p.user }

// Close closes every session of the pool.
func (p *Pool) Close() { p.pool.Close() }

// acquire takes a session from the pool. A login refused for its password
// (28P01) renews the credential and tries once more; of many logins
// refused at once for the same password, only the first renews it; but
// the workspace token is not renewed for a server whose certificate is not
// checked (see unverifiedToken). No other failure is tried again: a TLS
// failure, above all, is final.
func (p *Pool) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := p.pool.Acquire(ctx)
	if refused := refusedPassword(err); refused != "" && p.cred.renewable && !p.unverifiedToken {
		if _, renewErr := p.cred.renew(ctx, refused); renewErr != nil {
			e := p.loginError(ctx, err)
			e.Message += "; renewing the credential failed too: " + renewErr.Error()
			return nil, e
		}
		c, err = p.pool.Acquire(ctx)
	}
	if err != nil {
		return nil, p.loginError(ctx, err)
	}
	return c, nil
}

// refusedPassword is the password of a login that err says the server
// refused with 28P01 (invalid_password); "" for any other error.
func refusedPassword(err error) string {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" && errors.As(err, &connectErr) {
		return connectErr.Config.Password
	}
	return ""
}

// poolConfig turns the options into a pgxpool configuration, without the
// user and password.
func poolConfig(o *connstr.Options) (*pgxpool.Config, error) {
	server := o.Server
	if server == "" {
		server = lakebaseHost(o.Host)
	}
	if server == "" {
		return nil, errors.New("no Lakebase server: give Server (the instance's host name, read_write_dns)")
	}
	cfg, err := pgxpool.ParseConfig("sslmode=disable") // TLS is set below, from SSLMode
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	cc.Host, cc.Port, cc.Database = server, DefaultPort, DefaultDatabase
	if o.Port != 0 {
		cc.Port = uint16(o.Port)
	}
	if o.Database != "" {
		cc.Database = o.Database
	}
	if o.ApplicationName != "" {
		cc.RuntimeParams["application_name"] = o.ApplicationName
	}
	cc.ConnectTimeout = timeoutOf(o)
	if o.MaxConnections > 0 {
		cfg.MaxConns = int32(o.MaxConnections)
	}
	if cc.TLSConfig, err = tlsConfig(o, server); err != nil {
		return nil, err
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		ConfigureTypeMap(c.TypeMap())
		return nil
	}
	// A cancelled context sends the server a cancel request and keeps the
	// session, instead of closing it.
	cc.BuildContextWatcherHandler = func(pgConn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pgConn, CancelRequestDelay: 0, DeadlineDelay: 5 * time.Second}
	}
	return cfg, nil
}

// DefaultTimeout bounds a login, and a wait for a free session of a
// shared pool, when the connection string gives no Timeout.
const DefaultTimeout = 30 * time.Second

// timeoutOf is the options' Timeout, or DefaultTimeout.
func timeoutOf(o *connstr.Options) time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

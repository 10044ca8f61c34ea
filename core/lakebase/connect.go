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

// target is where and as whom the sessions of one connection string log
// in, and how: what a Pool's sessions and Open's session share, so that
// both log in by the same rules (identity, credential, a 28P01 renewed
// and tried once more, TLS, the type map).
type target struct {
	conn      *pgx.ConnConfig // without the password, which each login gets from cred
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

// newTarget resolves who logs in with o, and with what credential, to the
// server of cc (poolConfig's, which tests may have changed, to dial
// elsewhere); it sets cc.User.
func (c *Config) newTarget(ctx context.Context, o *connstr.Options, cc *pgx.ConnConfig) (t *target, err error) {
	t = &target{conn: cc, host: net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))),
		plaintext: cc.TLSConfig == nil, caGiven: o.SSLServerCert != "", userGiven: o.User != ""}
	if t.user, t.id, t.cred, err = c.userAndCredential(ctx, o); err != nil {
		return nil, err
	}
	if mode := sslMode(o, cc.Host); unverifiedToken(t.cred, mode) {
		t.unverifiedToken = true
		c.warnUnverifiedToken(t.host, mode)
	}
	cc.User = t.user
	return t, nil
}

// beforeConnect readies cc, one login's copy of the connection
// configuration: one server per login, and the current password.
func (t *target) beforeConnect(ctx context.Context, cc *pgx.ConnConfig) error {
	cc.DialFunc = oneServerPerLogin(cc.DialFunc)
	password, _, err := t.cred.get(ctx)
	cc.Password = password
	return err
}

// afterConnect readies a new session: lakelink's type map.
func afterConnect(_ context.Context, c *pgx.Conn) error {
	ConfigureTypeMap(c.TypeMap())
	return nil
}

// connect opens one session of its own (Open's); see login for a refusal.
func (t *target) connect(ctx context.Context) (*pgx.Conn, error) {
	cc := t.conn.Copy()
	if err := t.beforeConnect(ctx, cc); err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	if err := afterConnect(ctx, c); err != nil {
		c.Close(ctx)
		return nil, err
	}
	return c, nil
}

// login runs open, which logs in (Open) or takes a session of a pool,
// which may log in, and says why it failed in lakelink's words. A login
// refused for its password (28P01) renews the credential and tries once
// more; of many logins refused at once for the same password, only the
// first renews it; but the workspace token is not renewed for a server
// whose certificate is not checked (see unverifiedToken). No other
// failure is tried again: a TLS failure, above all, is final.
func login[S any](ctx context.Context, t *target, open func(context.Context) (S, error)) (S, error) {
	s, err := open(ctx)
	if refused := refusedPassword(err); refused != "" && t.cred.renewable && !t.unverifiedToken {
		if _, renewErr := t.cred.renew(ctx, refused); renewErr != nil {
			e := t.loginError(ctx, err)
			e.Message += "; renewing the credential failed too: " + renewErr.Error()
			return s, e
		}
		s, err = open(ctx)
	}
	if err != nil {
		return s, t.loginError(ctx, err)
	}
	return s, nil
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

// refusedPassword is the password of a login that err says the server
// refused with 28P01 (invalid_password); "" for any other error.
func refusedPassword(err error) string {
	var connectErr *pgconn.ConnectError
	if pgErr := serverError(err); pgErr != nil && pgErr.Code == "28P01" && errors.As(err, &connectErr) {
		return connectErr.Config.Password
	}
	return ""
}

// poolConfig turns the options into a pgxpool configuration, without the
// user and password. Open uses its ConnConfig only.
func poolConfig(o *connstr.Options) (*pgxpool.Config, error) {
	server, port, database, err := loginTarget(o)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig("sslmode=disable") // TLS is set below, from SSLMode
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	cc.Host, cc.Port, cc.Database = server, port, database
	if o.ApplicationName != "" {
		cc.RuntimeParams["application_name"] = o.ApplicationName
	}
	cc.ConnectTimeout = timeoutOf(o)
	sizePool(cfg, o)
	if cc.TLSConfig, err = tlsConfig(o, server); err != nil {
		return nil, err
	}
	cfg.AfterConnect = afterConnect
	// A cancelled context sends the server a cancel request and keeps the
	// session, instead of closing it.
	cc.BuildContextWatcherHandler = func(pgConn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pgConn, CancelRequestDelay: 0, DeadlineDelay: 5 * time.Second}
	}
	return cfg, nil
}

// loginTarget is the server, port and database the options name, with
// lakelink's defaults: what a login goes to. Login uses it without a pgx
// configuration, which lakelink.wasm (no Postgres session) does not link.
func loginTarget(o *connstr.Options) (server string, port uint16, database string, err error) {
	if server = o.Server; server == "" {
		server = lakebaseHost(o.Host)
	}
	if server == "" {
		return "", 0, "", errors.New("no Lakebase server: give Server (the instance's host name, read_write_dns)")
	}
	port, database = DefaultPort, DefaultDatabase
	if o.Port != 0 {
		port = uint16(o.Port)
	}
	if o.Database != "" {
		database = o.Database
	}
	return server, port, database, nil
}

// DefaultTimeout bounds a login when the connection string gives no
// Timeout.
const DefaultTimeout = 30 * time.Second

// timeoutOf is the options' Timeout, or DefaultTimeout.
func timeoutOf(o *connstr.Options) time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

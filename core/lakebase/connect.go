// Package lakebase connects to Lakebase, Databricks' managed PostgreSQL,
// with OAuth: the Postgres password is a short-lived credential that
// lakelink mints with the workspace token, shares across the process and
// renews ahead of expiry, so that a pool lives for days. Sessions already
// open are not affected by expiry (Lakebase checks the password at login
// only); a login refused with 28P01 forces one renewal and one retry.
//
// Connect takes the same connection string as the rest of lakelink (see
// package connstr): Server, Port, Database, User, SSLMode, SSLServerCert,
// ApplicationName, Timeout and MaxConnections, and for the password
// AuthScheme=Password with Password, or Instance (Lakebase Provisioned),
// Endpoint (Lakebase Autoscaling) or neither (the workspace token itself).
package lakebase

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
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
	pool *pgxpool.Pool
	cred *credential
	host string // host:port, for messages
	user string
}

// Error is a failed Lakebase connection or statement: where, as whom, and
// why, with the server's SQLSTATE for server errors.
type Error struct {
	Host     string // host:port
	User     string
	SQLState string // empty when the server did not answer
	Message  string
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("lakebase %s (user %s): %s", e.Host, e.User, e.Message)
	if e.SQLState != "" {
		msg += " (SQLSTATE " + e.SQLState + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Connect opens a pool and one session in it, so that a wrong host, user
// or credential is reported now rather than at the first query.
func Connect(ctx context.Context, o *connstr.Options) (*Pool, error) {
	cfg, err := poolConfig(o)
	if err != nil {
		return nil, err
	}
	p := &Pool{host: net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))}
	if p.user, p.cred, err = userAndCredential(ctx, o); err != nil {
		return nil, err
	}
	cfg.ConnConfig.User = p.user
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		password, err := p.cred.get(ctx, false)
		cc.Password = password
		return err
	}
	if p.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, p.wrap(err)
	}
	c, err := p.acquire(ctx)
	if err != nil {
		p.pool.Close()
		return nil, err
	}
	c.Release()
	return p, nil
}

// userAndCredential resolves who logs in and with what password source.
func userAndCredential(ctx context.Context, o *connstr.Options) (string, *credential, error) {
	if auth.EffectiveScheme(o) == connstr.AuthPassword {
		if o.User == "" {
			return "", nil, errors.New("AuthScheme=Password needs User")
		}
		return o.User, staticPassword(o.Password), nil
	}
	id, err := identityFor(o)
	if err != nil {
		return "", nil, err
	}
	user := o.User
	if user == "" {
		if user, err = id.principalName(ctx); err != nil {
			return "", nil, err
		}
	}
	return user, credentialFor(o, id), nil
}

// LoginInfo is what a libpq client such as psql needs to log in as the
// connection's identity. Password is a secret: pass it in PGPASSWORD,
// never on a command line or in a log.
type LoginInfo struct {
	Host, Database, User, Password string
	Port                           int
	SSLMode                        string // libpq's sslmode
	SSLRootCert                    string // a CA file for verify-ca and verify-full
	ApplicationName                string
}

// Login mints (or reuses) the current credential and returns it with the
// connection parameters, for programs that log in themselves.
func Login(ctx context.Context, o *connstr.Options) (*LoginInfo, error) {
	cfg, err := poolConfig(o)
	if err != nil {
		return nil, err
	}
	user, cred, err := userAndCredential(ctx, o)
	if err != nil {
		return nil, err
	}
	password, err := cred.get(ctx, false)
	if err != nil {
		return nil, err
	}
	info := &LoginInfo{Host: cfg.ConnConfig.Host, Port: int(cfg.ConnConfig.Port), Database: cfg.ConnConfig.Database,
		User: user, Password: password, SSLMode: string(o.SSLMode), ApplicationName: o.ApplicationName}
	if info.SSLMode == "" {
		info.SSLMode = string(connstr.SSLRequire)
	}
	if o.SSLServerCert != "" {
		if info.SSLRootCert, err = certFile(o.SSLServerCert); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// certFile returns SSLServerCert as a file: itself when it is a path, else
// the PEM text written to a temporary file.
func certFile(cert string) (string, error) {
	if !strings.Contains(cert, "-----BEGIN") {
		return cert, nil
	}
	f, err := os.CreateTemp("", "lakelink-ca-*.pem")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(cert)
	return f.Name(), err
}

// User is the Postgres user the pool logs in as.
func (p *Pool) User() string { return p.user }

// Close closes every session of the pool.
func (p *Pool) Close() { p.pool.Close() }

// acquire takes a session from the pool. A login refused for its password
// (28P01) renews the credential once and tries again.
func (p *Pool) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := p.pool.Acquire(ctx)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" && p.cred.renewable {
		if _, renewErr := p.cred.get(ctx, true); renewErr != nil {
			return nil, p.wrap(fmt.Errorf("%w; renewing the credential failed too: %v", err, renewErr))
		}
		c, err = p.pool.Acquire(ctx)
	}
	if err != nil {
		return nil, p.wrap(err)
	}
	return c, nil
}

// wrap turns a pgx error into an *Error naming host and user.
func (p *Pool) wrap(err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Host: p.host, User: p.user, Message: err.Error(), Err: err}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e.SQLState, e.Message = pgErr.Code, pgErr.Message
		if pgErr.Detail != "" {
			e.Message += ": " + pgErr.Detail
		}
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) && e.SQLState == "" {
		e.Message = "cannot connect: " + strings.TrimPrefix(connectErr.Unwrap().Error(), "dial error: ")
	}
	return e
}

// poolConfig turns the options into a pgxpool configuration, without the
// user and password.
func poolConfig(o *connstr.Options) (*pgxpool.Config, error) {
	server := o.Server
	if server == "" && isLakebaseHost(o.Host) {
		server = strings.TrimPrefix(strings.TrimPrefix(o.Host, "https://"), "http://")
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
	if o.Timeout > 0 {
		cc.ConnectTimeout = o.Timeout
	} else {
		cc.ConnectTimeout = 30 * time.Second
	}
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

// isLakebaseHost tells a Lakebase host name (instance-....database....)
// given as DatabricksInstance from a workspace URL.
func isLakebaseHost(host string) bool {
	h := strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	return strings.HasPrefix(h, "instance-") && strings.Contains(h, ".database.")
}

// tlsConfig follows SSLMode (default require): require encrypts without
// checking the certificate; verify-ca checks it against SSLServerCert (a
// file or PEM text); verify-full also checks the host name; disable, only
// when asked for, sends no TLS at all (Lakebase refuses that).
func tlsConfig(o *connstr.Options, server string) (*tls.Config, error) {
	mode := o.SSLMode
	if mode == "" {
		mode = connstr.SSLRequire
	}
	switch mode {
	case connstr.SSLDisable:
		return nil, nil
	case connstr.SSLRequire:
		return &tls.Config{InsecureSkipVerify: true, ServerName: server, MinVersion: tls.VersionTLS12}, nil
	}
	roots, err := certPool(o.SSLServerCert)
	if err != nil {
		return nil, err
	}
	if mode == connstr.SSLVerifyFull {
		return &tls.Config{RootCAs: roots, ServerName: server, MinVersion: tls.VersionTLS12}, nil
	}
	// verify-ca: the chain, not the name.
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			certs := make([]*x509.Certificate, len(raw))
			for i, der := range raw {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			intermediates := x509.NewCertPool()
			for _, c := range certs[1:] {
				intermediates.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates})
			return err
		}}, nil
}

// certPool reads SSLServerCert: PEM text, or a file holding it; without
// one, the system's roots.
func certPool(cert string) (*x509.CertPool, error) {
	if cert == "" {
		return x509.SystemCertPool()
	}
	pem := []byte(cert)
	if !strings.Contains(cert, "-----BEGIN") {
		var err error
		if pem, err = os.ReadFile(cert); err != nil {
			return nil, fmt.Errorf("SSLServerCert: %w", err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("SSLServerCert holds no PEM certificate")
	}
	return pool, nil
}

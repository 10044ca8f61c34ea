// Package lakebase connects to Lakebase, Databricks' managed PostgreSQL,
// with OAuth: the Postgres password is a short-lived credential that
// lakelink mints with the workspace token, shares across the process and
// renews ahead of expiry, so that a pool lives for days. Sessions already
// open are not affected by expiry (Lakebase checks the password at login
// only); a login refused with 28P01 forces one renewal and one retry,
// except for the workspace token at a server whose certificate is not
// checked (see unverifiedToken).
//
// Connect takes the same connection string as the rest of lakelink (see
// package connstr): Server, Port, Database, User, SSLMode (default
// verify-full for Lakebase hosts, see sslMode), SSLServerCert,
// ApplicationName, Timeout and MaxConnections, and for the password
// AuthScheme=Password with Password, or Instance (Lakebase Provisioned),
// Endpoint (Lakebase Autoscaling) or neither (the workspace token itself).
// A Lakebase host given as Host (alias DatabricksInstance) is the Server,
// not the workspace: that then comes from DATABRICKS_HOST or a profile.
package lakebase

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
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

// Error is a failed Lakebase connection or statement: where, as whom, and
// why, with the server's SQLSTATE for server errors.
type Error struct {
	Host     string // host:port
	User     string
	SQLState string // empty when the server did not answer
	Message  string
	// Detail and Hint are the server's DETAIL and HINT fields (such as
	// "Key (id)=(1) already exists."), empty when it sent none. Message
	// ends with the detail too.
	Detail string
	Hint   string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("lakebase %s (user %s): %s", e.Host, e.User, e.Message)
	if e.SQLState != "" {
		msg += " (SQLSTATE " + e.SQLState + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

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

// LoginInfo is what a libpq client such as psql needs to log in as the
// connection's identity. Password is a secret: pass it in PGPASSWORD,
// never on a command line or in a log; String leaves it out.
type LoginInfo struct {
	Host, Database, User, Password string
	Port                           int
	SSLMode                        string // libpq's sslmode
	// SSLRootCert is libpq's sslrootcert: SSLServerCert's CA file, or, for
	// verify-full and verify-ca without SSLServerCert, the system's CA
	// bundle file (see systemRootCert), which every libpq reads; "system"
	// (libpq 16's name for the system's roots) only where no such file
	// exists, as in the WASI build, which has no file system.
	SSLRootCert string
	// SSLRootCertPEM is SSLServerCert's PEM text when it was given as text
	// rather than a file; in the WASI build, which has no file system to
	// write SSLRootCert's file to, it is the only copy (SSLRootCert is
	// empty): a driver that takes the CA as text (node-postgres' ssl.ca)
	// uses it.
	SSLRootCertPEM  string
	ApplicationName string
}

// String describes the login without its password.
func (l LoginInfo) String() string {
	return fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=%s sslrootcert=%s application_name=%s",
		l.Host, l.Port, l.Database, l.User, l.SSLMode, l.SSLRootCert, l.ApplicationName)
}

// Login mints (or reuses) the current credential and returns it with the
// connection parameters, for programs that log in themselves.
func (c *Config) Login(ctx context.Context, o *connstr.Options) (*LoginInfo, error) {
	c = c.use()
	cfg, err := poolConfig(o)
	if err != nil {
		return nil, err
	}
	user, _, cred, err := c.userAndCredential(ctx, o)
	if err != nil {
		return nil, err
	}
	if mode := sslMode(o, cfg.ConnConfig.Host); unverifiedToken(cred, mode) {
		c.warnUnverifiedToken(net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))), mode)
	}
	password, err := cred.get(ctx)
	if err != nil {
		return nil, err
	}
	info := &LoginInfo{Host: cfg.ConnConfig.Host, Port: int(cfg.ConnConfig.Port), Database: cfg.ConnConfig.Database,
		User: user, Password: password, SSLMode: string(sslMode(o, cfg.ConnConfig.Host)), ApplicationName: o.ApplicationName}
	switch {
	case strings.Contains(o.SSLServerCert, "-----BEGIN"):
		info.SSLRootCertPEM = o.SSLServerCert
		if runtime.GOOS != "wasip1" {
			if info.SSLRootCert, err = certFile(o.SSLServerCert); err != nil {
				return nil, err
			}
		}
	case o.SSLServerCert != "":
		info.SSLRootCert = o.SSLServerCert
	case info.SSLMode == string(connstr.SSLVerifyFull) || info.SSLMode == string(connstr.SSLVerifyCA):
		info.SSLRootCert = systemRootCert()
	}
	return info, nil
}

// systemCABundles are the files where Linux distributions (Debian and
// Ubuntu, RHEL and Fedora, SUSE, Alpine) and macOS keep the system's CA
// certificates, in the order Go's crypto/x509 looks for them.
var systemCABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// systemRootCert is libpq's sslrootcert for the system's roots, which
// lakelink itself checks with: the system's CA bundle file, SSL_CERT_FILE
// when that is a file (as for OpenSSL and Go), else the first of
// systemCABundles that exists. libpq understands "system" only from
// version 16 on; older ones (Debian 12's psql 15) take it for a file name,
// fail to read it, and fall back to ~/.postgresql/root.crt. So "system"
// comes back only when there is no file, as in the WASI build.
func systemRootCert() string {
	for _, f := range append([]string{os.Getenv("SSL_CERT_FILE")}, systemCABundles...) {
		if st, err := os.Stat(f); f != "" && err == nil && st.Mode().IsRegular() {
			return f
		}
	}
	return "system"
}

// certFile returns the file of SSLServerCert's PEM text cert: the text
// written to lakelink/ca-HASH.pem in the user's cache
// directory, HASH being the text's SHA-256, so that running psql again
// and again reuses one file rather than leaving one per run behind (psql
// replaces the lakelink process and could not remove it). A per-user
// directory rather than a shared temporary one: nobody else can put a
// file there for psql to trust.
func certFile(cert string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("SSLServerCert: no directory to write the CA file for libpq in (%v); give SSLServerCert as a file", err)
	}
	dir := filepath.Join(cache, "lakelink")
	sum := sha256.Sum256([]byte(cert))
	name := filepath.Join(dir, "ca-"+hex.EncodeToString(sum[:])+".pem")
	if old, err := os.ReadFile(name); err == nil && string(old) == cert {
		return name, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("SSLServerCert: %w", err)
	}
	// Written aside and renamed, so that a psql started meanwhile never
	// reads half a file.
	f, err := os.CreateTemp(dir, "ca-*.tmp")
	if err != nil {
		return "", fmt.Errorf("SSLServerCert: %w", err)
	}
	_, err = f.WriteString(cert)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("SSLServerCert: %w", err)
	}
	return name, nil
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

// wrap turns a pgx error into an *Error naming host and user.
func (p *Pool) wrap(err error) error {
	if err == nil {
		return nil
	}
	return p.newError(err)
}

// newError is wrap for an error that is not nil.
func (p *Pool) newError(err error) *Error {
	e := &Error{Host: p.host, User: p.user, Message: err.Error(), Err: err}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e.SQLState, e.Message, e.Detail, e.Hint = pgErr.Code, pgErr.Message, pgErr.Detail, pgErr.Hint
		if pgErr.Detail != "" {
			e.Message += ": " + pgErr.Detail
		}
	}
	var connectErr *pgconn.ConnectError
	switch {
	case e.SQLState != "":
	case errors.As(err, &connectErr):
		e.Message = "cannot connect: " + strings.TrimPrefix(connectErr.Unwrap().Error(), "dial error: ")
	case connectionLost(err):
		e.Message = "connection lost (" + err.Error() + "): the server or the network ended the session; " +
			"a statement in flight may or may not have taken effect, and the pool replaces the session"
	}
	return e
}

// connectionLost reports an error of a session whose connection ended
// under it.
func connectionLost(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &opErr)
}

// loginError is the *Error of a failed login, saying in lakelink's words
// why, whatever the server's wording, for the two refusals users hit most:
// a connection without TLS, and a User that is not the token's principal.
// The server's own message follows.
func (p *Pool) loginError(ctx context.Context, err error) *Error {
	e := p.newError(err)
	switch {
	case p.plaintext && e.SQLState != "" && mentionsTLS(e.Message):
		e.Message = "TLS required by server: use SSLMode=require (or verify-full); the server said: " + e.Message
	case certificateRefused(err):
		e.Message = "the server's certificate does not verify, so the password was not sent (" + e.Message +
			"): if this is the right server, give the CA that signed its certificate as SSLServerCert"
		if !p.caGiven {
			e.Message += ", or, checking against the system's roots, make sure the system has its CA certificates " +
				"(a slim container may lack them; Debian: apt-get install ca-certificates)"
		}
		e.Message += "; SSLMode=require skips the check, and then sends the password to whichever server answers"
	case e.SQLState == "28P01" && p.userGiven && p.id != nil:
		if principal, perr := p.id.principalName(ctx); perr == nil && principal != p.user {
			e.Message = fmt.Sprintf("user %s is not the principal of this token (%s): give User=%s, or leave User out; the server said: %s",
				p.user, principal, principal, e.Message)
		}
	}
	if e.SQLState == "28P01" && p.unverifiedToken {
		e.Message += "; the workspace token was not renewed to try again, because the server's certificate is not checked: " +
			"give SSLServerCert to check it"
	}
	return e
}

// mentionsTLS tells a server's refusal of an unencrypted connection:
// Lakebase's, or pg_hba.conf's "no encryption" (SQLSTATE 28000).
func mentionsTLS(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "ssl") || strings.Contains(m, "tls") || strings.Contains(m, "encrypt")
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

// lakebaseHost is the host name in host when host, the connection
// string's Host (alias DatabricksInstance), is a Lakebase host
// (see isLakebaseHost) rather than a workspace; else "".
func lakebaseHost(host string) string {
	h := strings.TrimRight(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
	if isLakebaseHost(h) {
		return h
	}
	return ""
}

// workspace returns the options that auth sees, their Host the workspace
// URL: Host itself, unless it is absent or a Lakebase host (which names
// the database, and fills Server; see poolConfig); then a copy whose Host
// is the workspace of databricks-sdk-go's configuration (DATABRICKS_HOST,
// a profile). o itself is not changed.
func (c *Config) workspace(o *connstr.Options) (*connstr.Options, error) {
	if o.Host != "" && lakebaseHost(o.Host) == "" {
		return o, nil
	}
	w := *o
	w.Host = ""
	host, err := c.Auth.UnifiedAuthHost(&w)
	if err != nil || host == "" {
		msg := "no workspace to mint a Lakebase credential with"
		if o.Host != "" {
			msg += fmt.Sprintf(": Host %s is a Lakebase host, which gives the Server, not the workspace", o.Host)
		}
		if err != nil {
			msg += fmt.Sprintf(" (%v)", err)
		}
		return nil, errors.New(msg + "; give the workspace URL in Host (with the Lakebase host as Server), DATABRICKS_HOST " +
			"or a profile, or use AuthScheme=Password with Password")
	}
	w.Host = host
	return &w, nil
}

// tlsConfig follows SSLMode (default: see sslMode): require encrypts
// without checking the certificate; verify-ca checks it against
// SSLServerCert (a file or PEM text) or the system's roots; verify-full
// also checks the host name; disable, only when asked for, sends no TLS at
// all (Lakebase refuses that).
func tlsConfig(o *connstr.Options, server string) (*tls.Config, error) {
	mode := sslMode(o, server)
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

package lakebase

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// This file holds Login: the credential and connection parameters for
// programs, such as psql, that log in themselves.

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
	// ExpiresAt is when Password expires (zero when unknown, as for a
	// Password given or a personal access token); Login returns a new
	// one ahead of it.
	ExpiresAt time.Time
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
	server, port, database, err := loginTarget(o)
	if err != nil {
		return nil, err
	}
	if _, err := tlsConfig(o, server); err != nil { // what Connect would refuse
		return nil, err
	}
	user, _, cred, err := c.userAndCredential(ctx, o)
	if err != nil {
		return nil, err
	}
	if mode := sslMode(o, server); unverifiedToken(cred, mode) {
		c.warnUnverifiedToken(net.JoinHostPort(server, strconv.Itoa(int(port))), mode)
	}
	password, expiry, err := cred.get(ctx)
	if err != nil {
		return nil, err
	}
	info := &LoginInfo{Host: server, Port: int(port), Database: database,
		User: user, Password: password, SSLMode: string(sslMode(o, server)), ApplicationName: o.ApplicationName,
		ExpiresAt: expiry}
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

package lakebase

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lakelink/lakelink/core/connstr"
)

// Why verify-full is the default for Lakebase hosts.
//
// Databricks' documentation asks for TLS without saying who signs
// Lakebase's certificates: "Lakebase Autoscaling requires all connections
// to use SSL/TLS encryption. The sslmode=require parameter enforces this
// requirement." (https://docs.databricks.com/aws/en/oltp/projects/connection-strings),
// and its Provisioned psql page connects with sslmode=require
// (https://docs.databricks.com/aws/oltp/query/psql). No Lakebase API hands
// out a CA certificate to verify with (databricks-sdk-go's database and
// postgres services have none). Databricks' own Lakebase driver for Node,
// @databricks/lakebase in github.com/databricks/appkit, verifies by
// default: its default sslMode "require" maps to node-postgres'
// { rejectUnauthorized: true }, which checks the chain against Node's
// public roots and the host name (packages/lakebase/src/pool-config.ts,
// config.ts). That works only because Lakebase's servers present
// certificates chaining to public roots for their own names; so lakelink
// checks them too, with the system's roots, unless SSLMode=require is
// asked for. Should that ever fail, the error says how to opt out.

// lakebaseDomains are the DNS domains of Databricks' clouds (AWS, Azure,
// GCP) under which Lakebase serves its databases.
var lakebaseDomains = []string{".cloud.databricks.com", ".azuredatabricks.net", ".gcp.databricks.com"}

// isLakebaseHost reports whether host is a Lakebase server's name: one
// with a "database" label under a Databricks domain, as
// instance-UID.database.cloud.databricks.com (Provisioned),
// ep-NAME.database.REGION.cloud.databricks.com (Autoscaling) or
// instance-UID.database.azuredatabricks.net are. This is the one rule
// lakelink has for telling Lakebase's hosts from others.
func isLakebaseHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, domain := range lakebaseDomains {
		if name, ok := strings.CutSuffix(h, domain); ok && strings.Contains(name+".", ".database.") {
			return true
		}
	}
	return false
}

// sslMode is the options' SSLMode or, when they give none, the default
// for server: verify-full for a Lakebase host (against the system's roots)
// and whenever SSLServerCert gives a CA to verify with; require (TLS
// without a check of the certificate) for other hosts.
func sslMode(o *connstr.Options, server string) connstr.SSLMode {
	switch {
	case o.SSLMode != "":
		return o.SSLMode
	case o.SSLServerCert != "" || isLakebaseHost(server):
		return connstr.SSLVerifyFull
	}
	return connstr.SSLRequire
}

// unverifiedToken reports whether cred sends the workspace OAuth token
// itself, which opens the whole workspace API, to a server whose
// certificate mode does not check (require, or disable: no TLS at all).
// lakelink then warns before the first login (warnUnverifiedToken), and
// does not renew the token to try a login refused with 28P01 again: a
// server that merely claims the password is wrong must not collect a
// second token. Minted credentials (Instance, Endpoint) open only the
// database, and are renewed once as usual.
func unverifiedToken(cred *credential, mode connstr.SSLMode) bool {
	return cred.workspaceToken && (mode == connstr.SSLRequire || mode == connstr.SSLDisable)
}

// warnUnverifiedToken writes a warning to standard error, once per Config
// for server (host:port), that the workspace token is about to be sent
// there without a check of the server's certificate (see unverifiedToken).
func (c *Config) warnUnverifiedToken(server string, mode connstr.SSLMode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.warned[server] {
		return
	}
	c.warned[server] = true
	how := "without checking its certificate (SSLMode=require)"
	if mode == connstr.SSLDisable {
		how = "in cleartext (SSLMode=disable)"
	}
	fmt.Fprintf(os.Stderr, "lakelink: warning: the workspace OAuth token itself is the password for %s, sent %s: "+
		"whoever answers there can use the whole workspace API with it; give SSLServerCert (the CA that signed the "+
		"server's certificate) to check it, or Instance or Endpoint for a credential that opens only the database\n", server, how)
}

// certificateRefused reports whether err is the server's certificate
// failing the check that SSLMode asked for. The TLS handshake failed
// then, before the password could be sent.
func certificateRefused(err error) bool {
	var verification *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verification) || errors.As(err, &unknownAuthority) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}

// oneServerPerLogin wraps the dial function of one login so that, once it
// has reached a server, it dials no other address: pgconn tries a host's
// addresses in turn after most failures, a certificate that does not
// verify among them, but a login that failed at the server it reached is
// final. An address that cannot be reached still gives way to the next;
// the server reached may be dialled again (pgconn sends cancel requests
// there).
func oneServerPerLogin(dial pgconn.DialFunc) pgconn.DialFunc {
	reached := "" // pgconn dials one address at a time
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if reached != "" && addr != reached {
			return nil, fmt.Errorf("not trying %s: the login failed at the server it reached, %s", addr, reached)
		}
		c, err := dial(ctx, network, addr)
		if err == nil && reached == "" { // set once, during the login
			reached = addr
		}
		return c, err
	}
}

// tlsConfig follows SSLMode (default: see sslMode): require encrypts
// without checking the certificate; verify-ca checks it against
// SSLServerCert (a file or PEM text) or the system's roots; verify-full
// also checks the host name; disable, only when asked for, sends no TLS at
// all (Lakebase refuses that).
//
// Why not pgconn's own TLS from sslmode and sslrootcert (pgconn's
// configTLS, reachable only through pgconn.ParseConfig): it reads the CA
// from a file only, where SSLServerCert may be PEM text and the WASI build
// has no files at all; its sslrootcert=system turns verify-ca into
// verify-full, so verify-ca against the system's roots cannot be said;
// and ParseConfig adds what it finds in the environment and in
// ~/.postgresql (PGSSLROOTCERT, root.crt, a client certificate and key),
// so the roots and the client certificate would depend on files the
// connection string never named. Its verify-ca check is the same chain
// check as ours (see VerifyPeerCertificate below); the rules that decide
// the mode (sslMode), the refusal (certificateRefused) and the one server
// per login (oneServerPerLogin) are lakelink's and stay as they are.
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

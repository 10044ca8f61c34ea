package lakebase

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// This file holds the CA files Login hands to libpq as sslrootcert: the
// system's bundle, or SSLServerCert's PEM text written to a file.

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

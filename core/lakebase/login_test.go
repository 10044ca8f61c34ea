package lakebase

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// TestLogin: what psql gets. verify-full without SSLServerCert trusts the
// system's roots (sslrootcert is the system's CA bundle, SSL_CERT_FILE
// here); PEM text is written once to a file named by its hash, reused by
// later logins.
func TestLogin(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bundle := systemBundleFile(t)
	info := testEmulator.Info()
	o, _ := connstr.Parse(strings.Replace(lakebaseConn(testEmulator, "Instance="+info.Lakebase.Instance), ";SSLServerCert="+info.Lakebase.CAFile, "", 1))
	l, err := Login(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if l.SSLRootCert != bundle || l.SSLMode != "verify-full" || l.User != info.ServicePrincipal.ClientID || l.Password == "" {
		t.Errorf("verify-full without SSLServerCert: %v", l)
	}
	if !l.ExpiresAt.After(time.Now()) {
		t.Errorf("ExpiresAt %v: want the credential's expiry", l.ExpiresAt)
	}
	if s := fmt.Sprintf("%v %+v %s", l, l, *l); strings.Contains(s, l.Password) {
		t.Errorf("the password is printed: %s", s)
	}

	pem, err := os.ReadFile(info.Lakebase.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	o.SSLServerCert = string(pem)
	first, err := Login(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Login(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if first.SSLRootCertPEM != string(pem) {
		t.Errorf("SSLRootCertPEM %q, want the PEM text", first.SSLRootCertPEM)
	}
	if got, _ := os.ReadFile(first.SSLRootCert); first.SSLRootCert != second.SSLRootCert || string(got) != string(pem) {
		t.Errorf("CA files %q and %q", first.SSLRootCert, second.SSLRootCert)
	}
	if files, _ := os.ReadDir(filepath.Dir(first.SSLRootCert)); len(files) != 1 {
		t.Errorf("%d files in the CA directory, want 1", len(files))
	}
}

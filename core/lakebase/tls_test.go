package lakebase

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/connstr"
)

// connectAs connects to the shared emulator's gateway as its service
// principal, with Server the given host name, dialing 127.0.0.1 whatever
// that name (pgx's LookupFunc: no DNS), so that TLS checks the name as it
// would against Lakebase. The name resolves to two addresses, as a load
// balancer's does (127.0.0.1, and localhost: the same gateway), so that a
// login that tries the next address after failing at the first shows.
// extra adds properties (Instance, SSLMode, SSLServerCert...); none means
// lakelink's defaults.
func connectAs(t *testing.T, server, extra string) (*Pool, error) {
	t.Helper()
	info := testEmulator.Info()
	o, err := connstr.Parse(fmt.Sprintf("Host=%s;Server=%s;Port=%d;OAuthClientId=%s;OAuthClientSecret=%s;%s",
		info.WorkspaceURL, server, info.Lakebase.Port, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret, extra))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := poolConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.LookupFunc = func(context.Context, string) ([]string, error) {
		return []string{info.Lakebase.Host, "localhost"}, nil
	}
	p, err := (*Config)(nil).use().connectPool(context.Background(), o, cfg)
	if err == nil {
		t.Cleanup(p.Close)
	}
	return p, err
}

// gatewayCounts are the gateway's connections and the logins whose
// password it received, accepted or not.
func gatewayCounts() (connections, passwords int) {
	s := testEmulator.Stats()
	return s.Calls["gateway"], s.GatewayLogins.Accepted + s.GatewayLogins.Refused
}

// TestLakebaseHostIsVerifiedByDefault: without SSLMode, a host under
// Lakebase's domains gets verify-full against the system's roots. A server
// whose certificate does not verify for that name (the emulator's, signed
// by its own CA) never receives the password, be it a minted credential or
// the workspace token itself, and the failed login is not tried again.
func TestLakebaseHostIsVerifiedByDefault(t *testing.T) {
	lb := testEmulator.Info().Lakebase
	for name, tc := range map[string]struct{ server, extra string }{
		"instance credential":             {lb.ServerName, "Instance=" + lb.Instance},
		"workspace token as the password": {lb.ServerName, ""},
		"the CA, another name": {"instance-other.database.cloud.databricks.com",
			"Instance=" + lb.Instance + ";SSLServerCert=" + lb.CAFile},
		"verify-full asked for": {lb.ServerName, "Instance=" + lb.Instance + ";SSLMode=verify-full"},
	} {
		t.Run(name, func(t *testing.T) {
			connections, passwords := gatewayCounts()
			_, err := connectAs(t, tc.server, tc.extra)
			if err == nil {
				t.Fatal("connected to a server whose certificate does not verify")
			}
			wants := []string{"certificate", tc.server, "SSLServerCert", "SSLMode=require"}
			if !strings.Contains(tc.extra, "SSLServerCert") { // checked against the system's roots
				wants = append(wants, "apt-get install ca-certificates")
			}
			for _, want := range wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			c, p := gatewayCounts()
			if p != passwords {
				t.Errorf("the gateway received %d passwords", p-passwords)
			}
			if c-connections != 1 {
				t.Errorf("%d connections to the gateway, want 1 (no retry after a TLS failure)", c-connections)
			}
		})
	}
}

// TestLakebaseHostWithItsCA: verify-full works when the certificate chains
// to SSLServerCert and names the server; SSLServerCert alone asks for it.
// SSLMode=require, given, still skips the check.
func TestLakebaseHostWithItsCA(t *testing.T) {
	lb := testEmulator.Info().Lakebase
	sp := testEmulator.Info().ServicePrincipal.ClientID
	for name, extra := range map[string]string{
		"SSLServerCert, default mode": "Instance=" + lb.Instance + ";SSLServerCert=" + lb.CAFile,
		"verify-full":                 "Endpoint=" + lb.Endpoint + ";SSLMode=verify-full;SSLServerCert=" + lb.CAFile,
		"require, asked for":          "Instance=" + lb.Instance + ";SSLMode=require",
	} {
		t.Run(name, func(t *testing.T) {
			p, err := connectAs(t, lb.ServerName, extra)
			if err != nil {
				t.Fatal(err)
			}
			if got := scalar(t, p, "SELECT current_user"); got != sp {
				t.Errorf("current_user %q, want %q", got, sp)
			}
		})
	}
}

// TestSSLModeDefault: what Login tells libpq clients, by host. Checking
// against the system's roots (verify-full or verify-ca without
// SSLServerCert) gives libpq the system's CA bundle file, which every
// libpq reads, rather than "system", which libpq before 16 takes for a
// file name (and, failing to read it, falls back to ~/.postgresql).
func TestSSLModeDefault(t *testing.T) {
	info := testEmulator.Info()
	lb := info.Lakebase
	bundle := systemBundleFile(t)
	for name, tc := range map[string]struct{ server, extra, mode, rootCert string }{
		"Lakebase host":                 {lb.ServerName, "", "verify-full", bundle},
		"Lakebase host, verify-ca":      {lb.ServerName, "SSLMode=verify-ca", "verify-ca", bundle},
		"Lakebase host, CA given":       {lb.ServerName, "SSLServerCert=" + lb.CAFile, "verify-full", lb.CAFile},
		"Lakebase host, require":        {lb.ServerName, "SSLMode=require", "require", ""},
		"other host":                    {lb.Host, "", "require", ""},
		"other host, verify-ca":         {lb.Host, "SSLMode=verify-ca", "verify-ca", bundle},
		"other host, CA given":          {lb.Host, "SSLServerCert=" + lb.CAFile, "verify-full", lb.CAFile},
		"other host, verify-ca with CA": {lb.Host, "SSLMode=verify-ca;SSLServerCert=" + lb.CAFile, "verify-ca", lb.CAFile},
		"other host, disable":           {lb.Host, "SSLMode=disable", "disable", ""},
	} {
		t.Run(name, func(t *testing.T) {
			o, err := connstr.Parse(fmt.Sprintf("Host=%s;Server=%s;Port=%d;OAuthClientId=%s;OAuthClientSecret=%s;Instance=%s;%s",
				info.WorkspaceURL, tc.server, lb.Port, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret, lb.Instance, tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			l, err := Login(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if l.SSLMode != tc.mode || l.SSLRootCert != tc.rootCert {
				t.Errorf("sslmode %s sslrootcert %q, want %s %q", l.SSLMode, l.SSLRootCert, tc.mode, tc.rootCert)
			}
		})
	}
}

// systemBundleFile makes SSL_CERT_FILE, for the rest of the test, a file
// that holds no certificate: one that Login must name, but that does not
// make the process trust another CA should it be the first to load the
// system's roots (crypto/x509 loads them once per process).
func systemBundleFile(t *testing.T) string {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), "ca-bundle.crt")
	if err := os.WriteFile(bundle, []byte("# no certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", bundle)
	return bundle
}

// TestSystemRootCertFile: the system's CA bundle is SSL_CERT_FILE when
// that is a file, else the first of the distributions' files that exists,
// else "system" (libpq 16's name for the system's roots).
func TestSystemRootCertFile(t *testing.T) {
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "absent.crt"))
	want := "system"
	for _, f := range systemCABundles {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			want = f
			break
		}
	}
	if got := systemRootCert(); got != want {
		t.Errorf("systemRootCert() = %q, want %q", got, want)
	}
}

// TestLakebaseHostNames: the names under Lakebase's domains, on AWS,
// Azure and GCP, Provisioned and Autoscaling.
func TestLakebaseHostNames(t *testing.T) {
	for host, want := range map[string]bool{
		"instance-0123-abcd.database.cloud.databricks.com":                 true,
		"ep-summer-scene-d2ew95fl.database.us-east-1.cloud.databricks.com": true,
		"instance-0123-abcd.database.azuredatabricks.net":                  true,
		"ep-foo-bar.database.azuredatabricks.net":                          true,
		"instance-0123-abcd.database.gcp.databricks.com":                   true,
		"ep-foo-bar.database.us-central1.gcp.databricks.com":               true,
		"INSTANCE-0123.DATABASE.CLOUD.DATABRICKS.COM.":                     true,
		"":                               false,
		"127.0.0.1":                      false,
		"localhost":                      false,
		"adb-1234.5.azuredatabricks.net": false, // a workspace
		"dbc-1234.cloud.databricks.com":  false,
		"instance-1.database.cloud.databricks.com.example.com": false,
		"instance-1.database.example.com":                      false,
		"databricks.com":                                       false,
	} {
		if got := isLakebaseHost(host); got != want {
			t.Errorf("isLakebaseHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestLakebaseHostAsHostFollowsTheSameRule: a Host (alias
// DatabricksInstance) is taken for the Server by the same rule, an
// Autoscaling endpoint's host included.
func TestLakebaseHostAsHostFollowsTheSameRule(t *testing.T) {
	for host, want := range map[string]string{
		"https://ep-foo-bar.database.us-east-1.cloud.databricks.com/": "ep-foo-bar.database.us-east-1.cloud.databricks.com",
		"instance-0123.database.azuredatabricks.net":                  "instance-0123.database.azuredatabricks.net",
		"https://adb-1234.5.azuredatabricks.net":                      "",
		"instance-0123.database.example.com":                          "",
	} {
		if got := lakebaseHost(host); got != want {
			t.Errorf("lakebaseHost(%q) = %q, want %q", host, got, want)
		}
	}
}

// captureStderr points os.Stderr at a file until the test ends, and
// returns a function that reads what was written to it so far.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = f
	t.Cleanup(func() { os.Stderr = saved; f.Close() })
	return func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
}

// TestWorkspaceTokenToAnUnverifiedServer: a host outside Lakebase's
// domains (a private name, a proxy, an address) defaults to require, and
// without Instance or Endpoint the password is the workspace token itself.
// lakelink warns on standard error, once per process per server, before
// sending it; and a login refused with 28P01 is not retried with a renewed
// token, so a server that merely claims the password is wrong never
// collects a second workspace token. A minted credential, which opens the
// database only, and a verified server are still retried once.
func TestWorkspaceTokenToAnUnverifiedServer(t *testing.T) {
	stderr := captureStderr(t)
	lb := testEmulator.Info().Lakebase
	proxy := "lakebase-proxy.corp.example" // another name for the gateway: connectAs dials 127.0.0.1
	for range 2 {
		if _, err := connectAs(t, proxy, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := connectAs(t, "other-proxy.corp.example", "SSLMode=verify-full;SSLServerCert="+lb.CAFile); err == nil {
		t.Fatal("verify-full connected to a certificate for another name")
	}
	if n := strings.Count(stderr(), "lakelink: warning:"); n != 1 || !strings.Contains(stderr(), proxy) ||
		!strings.Contains(stderr(), "workspace") || !strings.Contains(stderr(), "SSLServerCert") {
		t.Errorf("%d warnings, want 1 naming %s, the workspace token and SSLServerCert:\n%s", n, proxy, stderr())
	}

	for name, tc := range map[string]struct {
		server, extra string
		passwords     int
	}{
		"workspace token, unverified":    {proxy, "", 1},
		"workspace token, verified":      {lb.ServerName, "SSLServerCert=" + lb.CAFile, 2},
		"minted credential, unverified":  {proxy, "Instance=" + lb.Instance, 2},
		"workspace token, require given": {proxy, "SSLMode=require", 1},
	} {
		t.Run(name, func(t *testing.T) {
			before := testEmulator.Stats()
			_, err := connectAs(t, tc.server, tc.extra+";User=someone@example.com")
			var e *Error
			if !errors.As(err, &e) || e.SQLState != "28P01" {
				t.Fatalf("want a 28P01 refusal, got %v", err)
			}
			after := testEmulator.Stats()
			passwords := after.GatewayLogins.Refused - before.GatewayLogins.Refused
			if passwords != tc.passwords {
				t.Errorf("the server received %d passwords, want %d", passwords, tc.passwords)
			}
			if tc.passwords == 1 && after.TokensIssued != before.TokensIssued {
				t.Errorf("%d workspace tokens issued for a retry", after.TokensIssued-before.TokensIssued)
			}
			if tc.passwords == 1 && !strings.Contains(err.Error(), "not renewed") {
				t.Errorf("the error does not say why the login was not tried again: %v", err)
			}
		})
	}
}

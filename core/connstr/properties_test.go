package connstr_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

func TestKeys(t *testing.T) {
	want := []string{
		"Host", "Profile", "ConfigFile", "DiscoveryURL",
		"AuthScheme", "OAuthClientId", "OAuthClientSecret", "Token", "Scope", "CallbackURL", "InitiateOAuth",
		"OAuthSettingsLocation", "OAuthAccessToken", "OAuthRefreshToken", "OAuthVerifier", "OAuthExpiresIn", "OAuthTokenTimestamp",
		"Timeout", "Logfile", "Verbosity",
		"Server", "Port", "Database", "User", "Password", "Instance", "Endpoint", "SSLMode", "SSLServerCert", "ApplicationName", "MaxConnections",
		"MinConnections", "MaxIdleTime", "MaxLifetime", "PoolTimeout", "MaxUsers", "MaxUserConnections", "UserIdleTime",
	}
	if got := connstr.Keys(); !slices.Equal(got, want) {
		t.Errorf("Keys() = %q\nwant %q", got, want)
	}
	connstr.Keys()[0] = "changed"
	if connstr.Keys()[0] != "Host" {
		t.Error("Keys() returns the package's own slice")
	}
}

var secretKeys = []string{"OAuthClientSecret", "Token", "OAuthAccessToken", "OAuthRefreshToken", "OAuthVerifier", "Password"}

func TestIsSecret(t *testing.T) {
	for _, k := range connstr.Keys() {
		want := slices.Contains(secretKeys, k)
		for _, spelling := range []string{k, strings.ToLower(k), strings.ToUpper(k), " " + k + " "} {
			if got := connstr.IsSecret(spelling); got != want {
				t.Errorf("IsSecret(%q) = %v, want %v", spelling, got, want)
			}
		}
	}
	for _, k := range []string{"", "DatabricksInstance", "databricksinstance", "ClientSecret", "Secret", "password2"} {
		if connstr.IsSecret(k) {
			t.Errorf("IsSecret(%q) = true", k)
		}
	}
}

// TestPropertyFields checks that each key sets its own field and nothing
// else, and that String and Redacted write it back.
func TestPropertyFields(t *testing.T) {
	tests := []struct {
		key, value string
		want       connstr.Options
		normalized string // Redacted()[key]; "" means value
	}{
		{"Host", "https://h.example", connstr.Options{Host: "https://h.example"}, ""},
		{"DatabricksInstance", "https://h.example", connstr.Options{Host: "https://h.example"}, ""},
		{"Profile", "DEFAULT", connstr.Options{Profile: "DEFAULT"}, ""},
		{"ConfigFile", "/home/u/.databrickscfg", connstr.Options{ConfigFile: "/home/u/.databrickscfg"}, ""},
		{"DiscoveryURL", "https://idp.example/.well-known/oauth-authorization-server", connstr.Options{DiscoveryURL: "https://idp.example/.well-known/oauth-authorization-server"}, ""},
		{"AuthScheme", "oauthclient", connstr.Options{AuthScheme: connstr.AuthOAuthClient}, "OAuthClient"},
		{"OAuthClientId", "cid", connstr.Options{OAuthClientID: "cid"}, ""},
		{"OAuthClientSecret", "csecret", connstr.Options{OAuthClientSecret: "csecret"}, "***"},
		{"Token", "dapi123", connstr.Options{Token: "dapi123"}, "***"},
		{"Scope", "all-apis offline_access", connstr.Options{Scope: "all-apis offline_access"}, ""},
		{"CallbackURL", "http://localhost:8020/callback", connstr.Options{CallbackURL: "http://localhost:8020/callback"}, ""},
		{"InitiateOAuth", "refresh", connstr.Options{InitiateOAuth: connstr.InitiateRefresh}, "REFRESH"},
		{"OAuthSettingsLocation", "memory://a", connstr.Options{OAuthSettingsLocation: "memory://a"}, ""},
		{"OAuthAccessToken", "at", connstr.Options{OAuthAccessToken: "at"}, "***"},
		{"OAuthRefreshToken", "rt", connstr.Options{OAuthRefreshToken: "rt"}, "***"},
		{"OAuthVerifier", "code", connstr.Options{OAuthVerifier: "code"}, "***"},
		{"OAuthExpiresIn", "3600", connstr.Options{OAuthExpiresIn: 3600}, ""},
		{"OAuthTokenTimestamp", "1700000000000", connstr.Options{OAuthTokenTimestamp: 1700000000000}, ""},
		{"Timeout", "1m30s", connstr.Options{Timeout: 90 * time.Second}, "90"},
		{"Logfile", "/tmp/l.log", connstr.Options{Logfile: "/tmp/l.log"}, ""},
		{"Verbosity", "3", connstr.Options{Verbosity: 3}, ""},
		{"Server", "db.example", connstr.Options{Server: "db.example"}, ""},
		{"Port", "5432", connstr.Options{Port: 5432}, ""},
		{"Database", "postgres", connstr.Options{Database: "postgres"}, ""},
		{"User", "u@example.com", connstr.Options{User: "u@example.com"}, ""},
		{"Password", "pw", connstr.Options{Password: "pw"}, "***"},
		{"Instance", "inst", connstr.Options{Instance: "inst"}, ""},
		{"Endpoint", "projects/p/branches/b/endpoints/e", connstr.Options{Endpoint: "projects/p/branches/b/endpoints/e"}, ""},
		{"SSLMode", "Verify-Full", connstr.Options{SSLMode: connstr.SSLVerifyFull}, "verify-full"},
		{"SSLServerCert", "/etc/ca.pem", connstr.Options{SSLServerCert: "/etc/ca.pem"}, ""},
		{"ApplicationName", "app", connstr.Options{ApplicationName: "app"}, ""},
		{"MaxConnections", "10", connstr.Options{MaxConnections: 10}, ""},
		{"MinConnections", "2", connstr.Options{MinConnections: 2}, ""},
		{"MaxIdleTime", "5m", connstr.Options{MaxIdleTime: 5 * time.Minute}, "300"},
		{"MaxLifetime", "1800", connstr.Options{MaxLifetime: 30 * time.Minute}, ""},
		{"PoolTimeout", "2.5s", connstr.Options{PoolTimeout: 2500 * time.Millisecond}, ""},
		{"MaxUsers", "20", connstr.Options{MaxUsers: 20}, ""},
		{"MaxUserConnections", "3", connstr.Options{MaxUserConnections: 3}, ""},
		{"UserIdleTime", "10m", connstr.Options{UserIdleTime: 10 * time.Minute}, "600"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			var o connstr.Options
			if err := o.Set(tt.key, tt.value); err != nil {
				t.Fatalf("Set(%q, %q): %v", tt.key, tt.value, err)
			}
			if o != tt.want {
				t.Errorf("Set(%q, %q) gave %+v\nwant %+v", tt.key, tt.value, fields(&o), fields(&tt.want))
			}
			p, err := connstr.Parse(tt.key + "=" + tt.value)
			if err != nil || *p != tt.want {
				t.Errorf("Parse(%q) = %v, %v; want the same as Set", tt.key+"="+tt.value, p, err)
			}
			canonical := tt.key
			if tt.key == "DatabricksInstance" {
				canonical = "Host"
			}
			covered[canonical] = true
			normalized := tt.normalized
			if normalized == "" {
				normalized = tt.value
			}
			if r := o.Redacted(); len(r) != 1 || r[canonical] != normalized {
				t.Errorf("Redacted() = %q, want {%q: %q}", r, canonical, normalized)
			}
			if s, want := o.String(), canonical+"="+normalized; s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
			if err := o.Set(tt.key, ""); err != nil || o != (connstr.Options{}) {
				t.Errorf("Set(%q, \"\") = %v and left %+v, want it cleared", tt.key, err, fields(&o))
			}
		})
	}
	for _, k := range connstr.Keys() {
		if !covered[k] {
			t.Errorf("key %q has no test", k)
		}
	}
}

// TestValues checks valid and invalid values of every key that validates.
func TestValues(t *testing.T) {
	tests := []struct {
		key     string
		valid   []string
		invalid []string
		allowed string // in the error for each invalid value
	}{
		{"DiscoveryURL", []string{"https://x", "http://127.0.0.1:8080/.well-known/openid-configuration", "http://localhost:1", "http://[::1]:1/x"},
			[]string{"x", "ftp://x", "https://", "/path", "://x"}, "is not an http:// or https:// URL"},
		{"DiscoveryURL", nil, []string{"http://x", "http://example.com/oidc", "http://localhost.:1", "http://10.0.0.1"},
			"is refused: it uses http, which would send the token in cleartext: http is only for a local emulator on a loopback host (localhost, 127.0.0.0/8, [::1]); write https://"},
		{"Host", []string{"adb-1.2.azuredatabricks.net", "https://x.cloud.databricks.com/", "http://127.0.0.1:8080", "localhost:8080",
			"http://localhost:1", "http://[::1]:1", "instance-1.database.cloud.databricks.com"},
			[]string{"http://my-workspace.cloud.databricks.com", "http://10.0.0.1:8080", "http://localhost.:1", "http://foo.localhost"},
			"is refused: it uses http, which would send the token in cleartext: http is only for a local emulator on a loopback host (localhost, 127.0.0.0/8, [::1]); write https://"},
		{"Host", nil, []string{"127.1", "https://0x7f.0.0.1", "http://2130706433:80", "http://127.0.0.1.:80"},
			"is refused: its host reads as an IPv4 address, which programs read differently unless it is written as four decimal numbers without a final dot, such as 127.0.0.1"},
		{"CallbackURL", []string{"http://localhost:8020", "https://app.example/cb"},
			[]string{"localhost:8020", "file:///x", "http//x"}, "is not an http:// or https:// URL"},
		{"AuthScheme", []string{"Auto", "auto", "DATABRICKS", "OAuthClient", "oauthpkce", "token", "Password"},
			[]string{"Basic", "OAuth", "Auto ", "PAT"}, "is not one of Auto, Databricks, OAuthClient, OAuthPKCE, Token, Password"},
		{"InitiateOAuth", []string{"OFF", "off", "GetAndRefresh", "refresh"},
			[]string{"maybe", "ON", "true", "GET"}, "is not one of OFF, GETANDREFRESH, REFRESH"},
		{"OAuthSettingsLocation", []string{"memory://x", "/tmp/tokens.json", "tokens.json", "C:\\tokens.json"},
			[]string{"memory://"}, "names no in-memory store: write a file path or memory://NAME"},
		{"OAuthExpiresIn", []string{"0", "1", "3600", "+5", "9223372036854775807"},
			[]string{"-1", "1.5", "abc", "1e3", "9223372036854775808", " 5"}, "is not a whole number >= 0"},
		{"OAuthTokenTimestamp", []string{"0", "1700000000000", "9223372036854775807"},
			[]string{"-1", "abc", "1700000000000.5", "99999999999999999999"}, "is not a whole number >= 0"},
		{"Timeout", []string{"1", "30", "1m30s", "1.5s", "250ms", "1h", "9223372036"},
			[]string{"0", "-1", "0s", "-5s", "abc", "30x", "1.5", "9223372037", "99999999999999999999"},
			`is not a duration greater than 0: write whole seconds ("30") or a Go duration ("1m30s")`},
		{"Verbosity", []string{"1", "3", "5"},
			[]string{"0", "6", "9", "-1", "high", "2.0"}, "is not a whole number between 1 and 5"},
		{"Port", []string{"1", "5432", "65535"},
			[]string{"0", "65536", "-1", "abc", "5432x", "0x10"}, "is not a whole number between 1 and 65535"},
		{"Endpoint", []string{"projects/p/branches/b/endpoints/e", "projects/my-proj/branches/br-1/endpoints/ep-2"},
			[]string{"projects/p", "projects//branches/b/endpoints/e", "projects/p/branches/b/endpoints/", "projects/p/branches/b/endpoints/e/x",
				"project/p/branches/b/endpoints/e", "/projects/p/branches/b/endpoints/e", "e"},
			"is not of the form projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT"},
		{"SSLMode", []string{"disable", "REQUIRE", "Verify-CA", "verify-full"},
			[]string{"prefer", "allow", "verify_full", "true"}, "is not one of disable, require, verify-ca, verify-full"},
		{"MaxConnections", []string{"1", "100", "2147483647"},
			[]string{"0", "-3", "many", "2147483648", "9223372036854775807"}, "is not a whole number between 1 and 2147483647"},
		{"MinConnections", []string{"0", "1", "100", "2147483647"},
			[]string{"-1", "few", "1.5", "2147483648"}, "is not a whole number between 0 and 2147483647"},
		{"MaxUsers", []string{"1", "1000", "2147483647"},
			[]string{"0", "-1", "all", "2147483648"}, "is not a whole number between 1 and 2147483647"},
		{"MaxUserConnections", []string{"1", "4", "2147483647"},
			[]string{"0", "-2", "two", "2147483648"}, "is not a whole number between 1 and 2147483647"},
		{"MaxIdleTime", []string{"1", "10m", "250ms"},
			[]string{"0", "-1s", "never"}, `is not a duration greater than 0: write whole seconds ("30") or a Go duration ("1m30s")`},
		{"MaxLifetime", []string{"30", "1h"},
			[]string{"0", "0s", "forever"}, `is not a duration greater than 0: write whole seconds ("30") or a Go duration ("1m30s")`},
		{"PoolTimeout", []string{"30", "1.5s"},
			[]string{"0", "-5", "soon"}, `is not a duration greater than 0: write whole seconds ("30") or a Go duration ("1m30s")`},
		{"UserIdleTime", []string{"600", "1m"},
			[]string{"0", "x"}, `is not a duration greater than 0: write whole seconds ("30") or a Go duration ("1m30s")`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for _, v := range tt.valid {
				var o connstr.Options
				if err := o.Set(tt.key, v); err != nil {
					t.Errorf("Set(%q, %q): %v", tt.key, v, err)
				}
			}
			for _, v := range tt.invalid {
				o := connstr.Options{Host: "h"}
				before := o
				err := o.Set(tt.key, v)
				var e *connstr.Error
				if !errors.As(err, &e) {
					t.Errorf("Set(%q, %q) = %v, want a *connstr.Error", tt.key, v, err)
					continue
				}
				if o != before {
					t.Errorf("Set(%q, %q) failed but changed the options", tt.key, v)
				}
				want := `connection string: key "` + tt.key + `": "` + v + `" ` + tt.allowed
				if e.Key != tt.key || err.Error() != want {
					t.Errorf("Set(%q, %q) error = %q (Key %q)\nwant %q", tt.key, v, err, e.Key, want)
				}
			}
		})
	}
}

func TestSet(t *testing.T) {
	o, err := connstr.Parse("Host=h;Port=5432;User=u")
	if err != nil {
		t.Fatal(err)
	}
	// Keyword overrides: any spelling, and the value is taken literally.
	for _, kv := range [][2]string{{"port", "5433"}, {" DATABRICKSINSTANCE ", "h2"}, {"Password", " 'it''s;x' "}} {
		if err := o.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%q, %q): %v", kv[0], kv[1], err)
		}
	}
	want := connstr.Options{Host: "h2", Port: 5433, User: "u", Password: " 'it''s;x' "}
	if *o != want {
		t.Errorf("after Set: %+v\nwant %+v", fields(o), fields(&want))
	}
	// Setting a key twice is fine; an empty value clears.
	if err := o.Set("Port", "1"); err != nil || o.Port != 1 {
		t.Errorf("Set Port again: %v, Port %d", err, o.Port)
	}
	if err := o.Set("User", ""); err != nil || o.User != "" {
		t.Errorf("Set User empty: %v, User %q", err, o.User)
	}
	// Errors leave o unchanged.
	before := *o
	err = o.Set("Prot", "5")
	if err == nil || err.Error() != `connection string: unknown key "Prot"; did you mean "Port"?` {
		t.Errorf("Set(Prot) = %v", err)
	}
	if err := o.Set("Port", "99999"); err == nil {
		t.Error("Set(Port, 99999) succeeded")
	}
	if *o != before {
		t.Errorf("failed Set changed the options: %+v", fields(o))
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		scope string
		want  []string
	}{
		{"", nil},
		{" , ,", nil},
		{"all-apis", []string{"all-apis"}},
		{"all-apis offline_access", []string{"all-apis", "offline_access"}},
		{" sql,  all-apis ,offline_access\tx ", []string{"sql", "all-apis", "offline_access", "x"}},
	}
	for _, tt := range tests {
		o := connstr.Options{Scope: tt.scope}
		got := o.Scopes()
		if !slices.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("Scopes() of %q = %#v, want %#v", tt.scope, got, tt.want)
		}
	}
}

// TestZeroMeansNotGiven documents that a zero value is not written, so
// OAuthExpiresIn=0 reads back as not given.
func TestZeroMeansNotGiven(t *testing.T) {
	o, err := connstr.Parse("OAuthExpiresIn=0;OAuthTokenTimestamp=0;User=u")
	if err != nil {
		t.Fatal(err)
	}
	if s := o.String(); s != "User=u" {
		t.Errorf("String() = %q, want %q", s, "User=u")
	}
}

func TestNil(t *testing.T) {
	var o *connstr.Options
	if o.Format() != "" || len(o.Redacted()) != 0 || o.Scopes() != nil {
		t.Error("nil *Options methods returned something")
	}
}

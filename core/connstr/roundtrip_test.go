package connstr_test

import (
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// tricky holds values that need quoting, or look like they might.
var tricky = []string{
	"plain", "with space", " leading", "trailing ", "\ttab\t", "semi;colon", "equals=sign", "==", ";",
	"it's", `say "hi"`, `both ' and "`, `''`, `""`, `'`, `"`, `'quoted'`, `"quoted"`, "x'", `x"`,
	"new\nline", "trailing newline\n", "日本語;データ", "données = ü", "emoji 🔑;=", "\u00a0nbsp\u00a0",
	"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}

func TestRoundTripString(t *testing.T) {
	full := connstr.Options{
		Host: "https://adb-1.2.azuredatabricks.net", Profile: "p;1", ConfigFile: "/home/u/my cfg",
		DiscoveryURL: "https://idp.example/.well-known/oauth-authorization-server?x=1;y",
		AuthScheme:   connstr.AuthOAuthPKCE, OAuthClientID: "client 'id'", Scope: "all-apis offline_access",
		CallbackURL: "http://localhost:8020/cb?a=b", InitiateOAuth: connstr.InitiateGetAndRefresh,
		OAuthSettingsLocation: "memory://store=1", OAuthExpiresIn: 3600, OAuthTokenTimestamp: 1700000000123,
		Timeout: 1500 * time.Millisecond, Logfile: " /tmp/log ", Verbosity: 5,
		Server: "db.example", Port: 5432, Database: `data"base`, User: "user@example.com", Instance: "inst",
		Endpoint: "projects/p/branches/b/endpoints/e", SSLMode: connstr.SSLVerifyFull,
		SSLServerCert: "-----BEGIN CERTIFICATE-----\nMIIB;=\n-----END CERTIFICATE-----\n", ApplicationName: "app=1",
		MaxConnections: 7, MinConnections: 1, MaxIdleTime: 90 * time.Second, MaxLifetime: 1500 * time.Millisecond,
		PoolTimeout: 5 * time.Second, MaxUsers: 20, MaxUserConnections: 3, UserIdleTime: time.Hour,
	}
	opts := []connstr.Options{{}, full, {Timeout: time.Nanosecond}, {Timeout: 1<<63 - 1}, {Timeout: 90 * time.Second}}
	for _, v := range tricky {
		opts = append(opts, connstr.Options{User: v, Database: v + v, SSLServerCert: v})
	}
	for _, o := range opts {
		s := o.String()
		got, err := connstr.Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if *got != o {
			t.Errorf("Parse(%q) = %+v\nwant %+v", s, fields(got), fields(&o))
		}
		if f := o.Format(); f != s {
			t.Errorf("without secrets, Format() = %q differs from String() = %q", f, s)
		}
	}
}

func TestRoundTripFormat(t *testing.T) {
	for _, v := range tricky {
		o := connstr.Options{
			OAuthClientSecret: v, Token: v + "1", OAuthAccessToken: "2" + v, OAuthRefreshToken: v + v,
			OAuthVerifier: v + ";" + v, Password: v, User: v,
		}
		s := o.Format()
		got, err := connstr.Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if *got != o {
			t.Errorf("Parse(%q) = %+v\nwant %+v", s, fields(got), fields(&o))
		}
	}
}

// TestNormalized shows the normalized form of a few connection strings.
func TestNormalized(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" port = 5432 ; host = h ;", "Host=h;Port=5432"},
		{"DatabricksInstance=h;authscheme=oauthpkce;sslmode=VERIFY-FULL", "Host=h;AuthScheme=OAuthPKCE;SSLMode=verify-full"},
		{"Password='it''s;x';User=u;Token=t", "Token=***;User=u;Password=***"},
		{"User=' a ';ApplicationName=x=1;Database='it''s'", `Database="it's";User=' a ';ApplicationName='x=1'`},
		{`User='say "hi" it''s'`, `User='say "hi" it''s'`},
		{"Timeout=60", "Timeout=60"},
		{"Timeout=1m", "Timeout=60"},
		{"Timeout=1m0.5s", "Timeout=1m0.5s"},
		{"OAuthExpiresIn=+0060", "OAuthExpiresIn=60"},
		{"Port=", ""},
	}
	for _, tt := range tests {
		o, err := connstr.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := o.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

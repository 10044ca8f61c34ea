package connstr_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

func TestParseGrammar(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want connstr.Options
	}{
		{"empty", "", connstr.Options{}},
		{"only separators and blanks", " ; ;;\t; ", connstr.Options{}},
		{"one pair", "Host=h", connstr.Options{Host: "h"}},
		{"whitespace around keys and values", "  Host =  h  ;\tPort\t=\t5432\t", connstr.Options{Host: "h", Port: 5432}},
		{"newlines are whitespace", "Host=h\n;\nPort=1\r\n", connstr.Options{Host: "h", Port: 1}},
		{"trailing and doubled semicolons", ";Host=h;;;Port=1;", connstr.Options{Host: "h", Port: 1}},
		{"case-insensitive keys", "HOST=h;port=1;dAtAbAsE=d", connstr.Options{Host: "h", Port: 1, Database: "d"}},
		{"alias", "DatabricksInstance=h", connstr.Options{Host: "h"}},
		{"alias case-insensitive", "databricksINSTANCE=h", connstr.Options{Host: "h"}},
		{"inner whitespace kept", "ApplicationName=  my  app  ", connstr.Options{ApplicationName: "my  app"}},
		{"equals in unquoted value", "ApplicationName=a=b==", connstr.Options{ApplicationName: "a=b=="}},
		{"quote inside unquoted value", "ApplicationName=it's \"x\"", connstr.Options{ApplicationName: `it's "x"`}},
		{"single quotes", "Password='p;w=d'", connstr.Options{Password: "p;w=d"}},
		{"double quotes", `Password="p;w=d"`, connstr.Options{Password: "p;w=d"}},
		{"doubled single quote", "Password='it''s;x'", connstr.Options{Password: "it's;x"}},
		{"doubled double quote", `Password="say ""hi"""`, connstr.Options{Password: `say "hi"`}},
		{"other quote inside quotes", `User="it's";Database='a"b'`, connstr.Options{User: "it's", Database: `a"b`}},
		{"only a doubled quote", `User=''''`, connstr.Options{User: "'"}},
		{"quoted whitespace kept", "User=' a b '", connstr.Options{User: " a b "}},
		{"whitespace before quote", "User=   'x'", connstr.Options{User: "x"}},
		{"whitespace after closing quote", "User='x'   ;Port=1", connstr.Options{User: "x", Port: 1}},
		{"whitespace after closing quote at end", "User='x' \t ", connstr.Options{User: "x"}},
		{"quoted value at end without semicolon", "Port=1;User='x'", connstr.Options{User: "x", Port: 1}},
		{"empty value is not given", "Port=;Host=;User=u", connstr.Options{User: "u"}},
		{"empty quoted value is not given", "Password='';User=\"\"", connstr.Options{}},
		{"empty value at end", "User=u;Port=", connstr.Options{User: "u"}},
		{"unicode", "Database=données;User='日本語;x'", connstr.Options{Database: "données", User: "日本語;x"}},
		{"unicode whitespace trimmed", "User=\u00a0u\u2003", connstr.Options{User: "u"}},
		{"enums case-insensitive", "AuthScheme=oauthpkce;InitiateOAuth=GetAndRefresh;SSLMode=VERIFY-CA",
			connstr.Options{AuthScheme: connstr.AuthOAuthPKCE, InitiateOAuth: connstr.InitiateGetAndRefresh, SSLMode: connstr.SSLVerifyCA}},
		{"quoted enum", "SSLMode='require'", connstr.Options{SSLMode: connstr.SSLRequire}},
		{"timeout seconds", "Timeout=30", connstr.Options{Timeout: 30 * time.Second}},
		{"timeout duration", "Timeout=1m30s", connstr.Options{Timeout: 90 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := connstr.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if *o != tt.want {
				t.Errorf("Parse(%q) = %#v\nwant %#v", tt.in, fields(o), fields(&tt.want))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		key     string   // want Error.Key
		want    []string // substrings of Error()
		notWant []string // not substrings of Error()
	}{
		// Values.
		{"Port=abc", "Port", []string{`connection string: key "Port": "abc" is not a whole number between 1 and 65535`}, nil},
		{"InitiateOAuth=maybe", "InitiateOAuth", []string{`key "InitiateOAuth": "maybe" is not one of OFF, GETANDREFRESH, REFRESH`}, nil},
		{"Verbosity=9", "Verbosity", []string{`key "Verbosity": "9" is not a whole number between 1 and 5`}, nil},
		{"SSLMode=prefer", "SSLMode", []string{`"prefer" is not one of disable, require, verify-ca, verify-full`}, nil},
		{"AuthScheme=Basic", "AuthScheme", []string{`"Basic" is not one of Auto, Databricks, OAuthClient, OAuthPKCE, Token, Password`}, nil},
		{"Timeout=soon", "Timeout", []string{`key "Timeout": "soon" is not a duration greater than 0`, `"30"`, `"1m30s"`}, nil},
		{"Endpoint=projects/p/branches/b", "Endpoint", []string{"projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT"}, nil},
		{"DATABRICKSINSTANCE=h;port=x", "Port", []string{`key "Port": "x"`}, nil},
		// Keys.
		{"OAuthClientSecert=x", "OAuthClientSecert", []string{`connection string: unknown key "OAuthClientSecert"; did you mean "OAuthClientSecret"?`}, nil},
		{"Hots=h", "Hots", []string{`unknown key "Hots"; did you mean "Host"?`}, nil},
		{"databricksinstanse=h", "databricksinstanse", []string{`did you mean "DatabricksInstance"?`}, nil},
		{"OAuthClientID_=x", "OAuthClientID_", []string{`did you mean "OAuthClientId"?`}, nil},
		{"Frobnicate=1", "Frobnicate", []string{`unknown key "Frobnicate"`}, []string{"did you mean"}},
		{"ClientSecret=x", "ClientSecret", []string{`unknown key "ClientSecret"`}, nil},
		{"postgres://user:pw1234@host/db?sslmode=require", "", []string{"unknown key (not shown"}, []string{"pw1234", "postgres"}},
		{"Host=a;DatabricksInstance=b", "Host", []string{`key "Host": given more than once, as "Host" and "DatabricksInstance"`}, nil},
		{"Port=1;port=2", "Port", []string{`key "Port": given more than once, as "Port" and "port"`}, nil},
		{"Port=1;Port=1", "Port", []string{`key "Port": given more than once`}, []string{" as "}},
		{"Port=;Port=1", "Port", []string{`given more than once`}, nil},
		// Segments.
		{"Host=h;garbage;Port=1", "", []string{`segment 2 (after key "Host") has no "="`}, []string{"garbage"}},
		{"garbage", "", []string{`segment 1 has no "="`}, []string{"garbage"}},
		{";;Host=h;;garbage", "", []string{`segment 5 (after key "Host") has no "="`}, nil},
		{"Host=h;Port", "Port", []string{`key "Port": no "=" follows it: write Port=VALUE`}, nil},
		{"=x", "", []string{`segment 1 has no key before "="`}, nil},
		{"Port=1; =x", "", []string{`segment 2 (after key "Port") has no key before "="`}, nil},
		// Quotes.
		{"Password='abc", "Password", []string{`key "Password": the value opened with ' has no closing '`}, []string{"abc"}},
		{`User="abc;Port=1`, "User", []string{`key "User": the value opened with " has no closing "`}, nil},
		{"User='abc'';Port=1", "User", []string{"has no closing '"}, nil},
		{"User='abc' x", "User", []string{`key "User": unexpected text after the closing '`, "write '' for a ' inside it"}, nil},
		{"User='a'b';Port=1", "User", []string{"unexpected text after the closing '"}, nil},
		{`User="a" "b"`, "User", []string{`unexpected text after the closing "`}, nil},
		{"Frobnicate='abc", "Frobnicate", []string{"unknown key"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, err := connstr.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.in, o)
			}
			if o != nil {
				t.Errorf("Parse(%q) returned Options with its error", tt.in)
			}
			var e *connstr.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T, want *connstr.Error", tt.in, err)
			}
			if e.Key != tt.key {
				t.Errorf("Parse(%q) error Key = %q, want %q (%v)", tt.in, e.Key, tt.key, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) error = %q\nwant it to contain %q", tt.in, err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) error = %q\nwant it not to contain %q", tt.in, err, w)
				}
			}
		})
	}
}

// fields returns o's fields for printing in test failures (%#v would show
// String's redacted form).
func fields(o *connstr.Options) any {
	type plain connstr.Options
	return (*plain)(o)
}

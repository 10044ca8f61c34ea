package redact_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/redact"
)

func TestIsSecretKey(t *testing.T) {
	for _, k := range []string{"access_token", "refresh_token", "id_token", "token", "Token", "client_secret", "OAuthClientSecret",
		"code", "code_verifier", "OAuthVerifier", "password", "Password", "PGPASSWORD", "assertion", "client_assertion",
		"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Forwarded-Access-Token", "credentials", "api_key", "subject_token"} {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	for _, k := range []string{"token_type", "expires_in", "expiration_time", "error_code", "scope", "grant_type", "user", "host", "tokens_issued", "Content-Type"} {
		if redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"token": "S1", "expiration_time": `, `{"token": "***", "expiration_time": `},
		{`{"access_token": "S1`, `{"access_token": "***`},
		{`{\"access_token\":\"S1\",\"x\":1}`, `{\"access_token\":\"***\",\"x\":1}`},
		{`{"a":{"client_secret":"S1"},"credentials":{"password":"S2"},"b":2}`, `{"a":{"client_secret":"***"},"credentials":***,"b":2}`},
		{`{"token": 12345, "n": 1}`, `{"token": ***, "n": 1}`},
		{"grant_type=refresh_token&refresh_token=S1&scope=sql", "grant_type=refresh_token&refresh_token=***&scope=sql"},
		{"Host=h;OAuthClientSecret='S;1';Port=1", "Host=h;OAuthClientSecret='***';Port=1"},
		{"> POST /x\n> * Authorization: Bearer S1\n> * Accept: */*", "> POST /x\n> * Authorization: ***\n> * Accept: */*"},
		{"call with Bearer S1234567 failed", "call with Bearer *** failed"},
		{"got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl back", "got *** back"},
		{"pat dapi0123456789abcdef0123456789abcdef here", "pat *** here"},
		{"GET http://u:PW@host:8080/a?b=c failed", "GET http://u:***@host:8080/a?b=c failed"},
		{"Error code: 403 PERMISSION_DENIED", "Error code: 403 PERMISSION_DENIED"},
		{`{"token_type":"Bearer","expires_in":3600}`, `{"token_type":"Bearer","expires_in":3600}`},
	} {
		if got := redact.Text(c.in); got != c.want {
			t.Errorf("Text(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestBody(t *testing.T) {
	for _, c := range []struct{ ct, in, want string }{
		{"application/json", `{"n":{"access_token":"S1","list":[{"refresh_token":"S2"}]},"token_type":"Bearer"}`,
			`{"n":{"access_token":"***","list":[{"refresh_token":"***"}]},"token_type":"Bearer"}`},
		{"application/json", `{"token": "S1", "expiration_time": `, `{"token": "***", "expiration_time": `},
		{"application/x-www-form-urlencoded", "client_secret=S1&grant_type=client_credentials", "client_secret=***&grant_type=client_credentials"},
		{"text/plain", "refresh_token=S1", "refresh_token=***"},
		{"application/octet-stream", "\x00\x01S1", "(4 bytes of application/octet-stream, not shown)"},
		{"application/json", "  ", ""},
	} {
		if got := redact.Body(c.ct, []byte(c.in)); got != c.want {
			t.Errorf("Body(%q, %q)\n = %q\nwant %q", c.ct, c.in, got, c.want)
		}
	}
}

func TestHeaderAndForm(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer S1"}, "Cookie": {"a=S2"}, "X-Forwarded-Access-Token": {"S3"}, "Accept": {"*/*"}}
	if got, want := redact.Header(h), "Accept: */*; Authorization: Bearer ***; Cookie: ***; X-Forwarded-Access-Token: ***"; got != want {
		t.Errorf("Header = %q, want %q", got, want)
	}
	if got, want := redact.Form(url.Values{"code": {"S1"}, "state": {"s"}}), "code=***&state=s"; got != want {
		t.Errorf("Form = %q, want %q", got, want)
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://u:PW@host":          "http://u:***@host",
		"https://u:P@W@host/p?x=@y": "https://u:***@host/p?x=@y",
		"http://u@host":             "http://u@host",
		"https://host/a:b@c":        "https://host/a:b@c",
		"not a url":                 "not a url",
		"postgres://u:PW@h:5432/db": "postgres://u:***@h:5432/db",
	} {
		if got := redact.URL(in); got != want || strings.Contains(got, "PW") {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

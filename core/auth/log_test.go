package auth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/connstr"
)

// TestVerbosity5MasksSecretsAtEveryDepth: at Verbosity=5 the bodies of
// requests and responses are logged with every secret masked, whatever
// its depth in a JSON document, in a form, or in a text or broken JSON
// body.
func TestVerbosity5MasksSecretsAtEveryDepth(t *testing.T) {
	logfile := t.TempDir() + "/lakelink.log"
	l, err := newLogger(&connstr.Options{Logfile: logfile, Verbosity: 5})
	if err != nil {
		t.Fatal(err)
	}
	respond := func(contentType, body string) {
		req := httptest.NewRequest("POST", "https://h/oidc/v1/token", nil)
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {contentType}}, Request: req}
		l.response(resp, []byte(body))
	}
	respond("application/json", `{"token_type":"Bearer","nested":{"access_token":"SECRET-nested-1","client_secret":"SECRET-nested-2",`+
		`"list":[{"refresh_token":"SECRET-nested-3"}]},"credentials":{"password":"SECRET-nested-4"}}`)
	respond("application/json", `{"token": "SECRET-broken-5", "expiration_time": `)
	respond("text/plain", "access_token=SECRET-text-6&expires_in=60")
	respond("text/html", `<pre>{"id_token": "SECRET-html-7"}</pre>`)
	form := "grant_type=client_credentials&client_secret=SECRET-form-8&scope=all-apis"
	req, _ := http.NewRequest("POST", "https://h/oidc/v1/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic SECRET-header-9")
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(form)), nil }
	l.request(req)

	log, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte("SECRET")) {
		t.Errorf("the log shows a secret:\n%s", log)
	}
	for _, want := range []string{"token_type", "Bearer", "expires_in=60", "grant_type=client_credentials", "scope=all-apis", "expiration_time"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("the log lacks %q, which is no secret:\n%s", want, log)
		}
	}
}

// TestEveryLogLineIsRedacted: whatever a caller logs (a URL with a
// password, an error quoting a token, an attribute named like a secret),
// the Logfile shows no secret.
func TestEveryLogLineIsRedacted(t *testing.T) {
	logfile := t.TempDir() + "/lakelink.log"
	l, err := newLogger(&connstr.Options{Logfile: logfile, Verbosity: 2})
	if err != nil {
		t.Fatal(err)
	}
	l.info("resolved", "host", "http://u:SECRET-1@h", "client_secret", "SECRET-2",
		"error", errors.New(`answer {"access_token": "SECRET-3`), "n", 3)
	l.error("failed with Bearer SECRET-4")
	log, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte("SECRET")) || !bytes.Contains(log, []byte("n=3")) || !bytes.Contains(log, []byte("http://u:***@h")) {
		t.Errorf("the log:\n%s", log)
	}
}

package apps

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// sendExternally is what a binding does with Authorize and Diagnose: asks
// for the Authorization header, sends with a client of its own that does
// not follow redirects, and has a failure diagnosed.
func sendExternally(t *testing.T, appURL string, src oauth2.TokenSource, url string) error {
	t.Helper()
	authorization, target, _, err := Authorize(appURL, src, http.MethodGet, url)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("the external client: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Diagnose(src, http.MethodGet, target, authorization, resp.StatusCode, resp.Header, body, "")
}

// sameError fails unless got is the *Error want is, field by field.
func sameError(t *testing.T, what string, got, want error) {
	t.Helper()
	g, w := appError(t, got), appError(t, want)
	if g.Op != w.Op || g.Status != w.Status || g.Kind != w.Kind || g.Message != w.Message || g.Diagnosis != w.Diagnosis {
		t.Errorf("%s:\n  external %q %d %s %q\n  %s\n  Do       %q %d %s %q\n  %s", what, g.Op, g.Status, g.Kind, g.Message, g.Diagnosis,
			w.Op, w.Status, w.Kind, w.Message, w.Diagnosis)
	}
}

// TestExternalClientGetsDosDiagnoses: for every kind of answer, what
// Authorize and Diagnose make of a request another client sent is the
// error Do returns for the same request.
func TestExternalClientGetsDosDiagnoses(t *testing.T) {
	unsetProxies(t)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/ok":
			w.WriteHeader(204)
		case "/api/unauthorized":
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="expired"`)
			writeJSON(w, 401, map[string]string{"message": "bad token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
		case "/api/forbidden":
			writeJSON(w, 403, map[string]string{"message": "Provided OAuth token does not have required scopes: all-apis or sql"})
		case "/api/can-use":
			writeJSON(w, 403, map[string]string{"message": "no CAN USE"})
		case "/api/moved":
			http.Redirect(w, r, "/api/elsewhere", http.StatusTemporaryRedirect)
		case "/api/login":
			http.Redirect(w, r, "/oidc/v1/authorize?client_id=app&state=s3cr3t-state", http.StatusFound)
		case "/api/crash":
			writeJSON(w, 500, map[string]string{"error_code": "INTERNAL_ERROR", "message": "boom"})
		default:
			http.NotFound(w, r)
		}
	})
	expired := fakeJWT(map[string]any{"sub": "6f1c2a3b-1234-4abc-9def-0123456789ab", "scope": "all-apis",
		"exp": float64(time.Now().Add(-time.Hour).Unix())})
	sources := map[string]oauth2.TokenSource{
		"a valid token":                  static(testJWT),
		"an expired token, no refresher": static(expired),
		"an expired token, refreshable":  refresher{static(expired), true},
		"an unreadable token":            static("not-a-jwt-but-long-enough"),
		"no token":                       oauth2.StaticTokenSource(&oauth2.Token{}),
	}
	for what, src := range sources {
		app := newApp(t, srv.URL, src)
		for _, path := range []string{"/api/unauthorized", "/api/forbidden", "/api/can-use", "/api/moved", "/api/login",
			"/api/crash", "/api/missing", "/index.html", "/api/../login"} {
			_, want := app.Get(context.Background(), path)
			got := sendExternally(t, srv.URL, src, srv.URL+path)
			sameError(t, what+" "+path, got, want)
		}
		if err := sendExternally(t, srv.URL, src, srv.URL+"/api/ok"); err != nil {
			t.Errorf("%s: a 204: %v", what, err)
		}
	}

	// Another host than the app's is refused, before asking for a token.
	src := static(testJWT)
	_, _, _, err := Authorize(srv.URL, src, http.MethodGet, "http://127.0.0.1:1/api/x")
	wantKind(t, appError(t, err), KindOtherHost, 0, "is not the app's host")
	_, _, _, err = Authorize(srv.URL, src, http.MethodGet, strings.Replace(srv.URL, "http://", "http://alice:pa55word@", 1)+"/api/x")
	if err == nil || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("a URL with a password: %v", err)
	}
	if src.calls.Load() != 0 {
		t.Errorf("%d tokens asked for by refused requests", src.calls.Load())
	}
	_, _, _, err = Authorize(srv.URL, failing{errors.New("no token for you")}, http.MethodGet, srv.URL+"/api/x")
	if err == nil || !strings.Contains(err.Error(), "getting a token: no token for you") {
		t.Errorf("a token source's failure: %v", err)
	}
}

// TestForeignNetworkErrors: a network failure another client describes by
// its code gets the diagnosis of Go's own error for the same failure.
func TestForeignNetworkErrors(t *testing.T) {
	unsetProxies(t)
	src := static(testJWT)
	dead := "http://" + deadPort(t)
	_, want := Request(context.Background(), src, http.MethodGet, dead+"/api/x", nil, nil)
	got := Diagnose(src, http.MethodGet, dead+"/api/x", "Bearer "+testJWT, 0, nil, nil,
		"ECONNREFUSED: connect ECONNREFUSED "+strings.TrimPrefix(dead, "http://"))
	e := appError(t, got)
	if w := appError(t, want); e.Kind != KindNetwork || e.Diagnosis != w.Diagnosis || e.Op != w.Op {
		t.Errorf("connection refused:\n  got  %s %q\n  want %s %q", e.Kind, e.Diagnosis, w.Kind, w.Diagnosis)
	}
	if !strings.HasPrefix(e.Message, "ECONNREFUSED: connect ECONNREFUSED") {
		t.Errorf("Message %q: want the client's text", e.Message)
	}

	const host = "https://no-such-host.invalid"
	for _, c := range []struct{ text, want string }{
		{"ENOTFOUND: getaddrinfo ENOTFOUND no-such-host.invalid", "host not found: check the app URL (no-such-host.invalid does not resolve"},
		{"EAI_AGAIN: getaddrinfo EAI_AGAIN no-such-host.invalid", "The DNS lookup of no-such-host.invalid failed"},
		{"UND_ERR_CONNECT_TIMEOUT: Connect Timeout Error", "Connecting to no-such-host.invalid:443 timed out"},
		{"ETIMEDOUT: connect ETIMEDOUT 10.0.0.1:80", "Connecting to no-such-host.invalid:443 timed out"},
		{"UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error", "The app did not answer in time"},
		{"ECONNRESET: read ECONNRESET", "The connection was closed before the whole answer arrived"},
		{"UND_ERR_SOCKET: other side closed", "The connection was closed before the whole answer arrived"},
		{"EHOSTUNREACH: connect EHOSTUNREACH 10.0.0.1:80", "cannot be reached from this network"},
		{"SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain", "signed by an authority this machine does not trust"},
		{"UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate", "signed by an authority this machine does not trust"},
		{"ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames", "is not valid for no-such-host.invalid"},
		{"CERT_HAS_EXPIRED: certificate has expired", "has expired or is not yet valid: check this machine's clock"},
		{"EPROTO: 0A00010B:SSL routines:ssl3_get_record:wrong version number", "The server did not answer in TLS"},
		{"something else entirely", "The request did not reach the app at no-such-host.invalid:443"},
		// The first code lakelink knows, not the first word that looks like one.
		{"ERROR: connect ECONNREFUSED 127.0.0.1:9", "connection refused: nothing listens at no-such-host.invalid:443"},
		{"EFOO bar ETIMEDOUT", "Connecting to no-such-host.invalid:443 timed out"},
	} {
		e := appError(t, Diagnose(src, http.MethodGet, host+"/api/x", "Bearer "+testJWT, 0, nil, nil, c.text))
		if e.Kind != KindNetwork || e.Message != c.text || !strings.Contains(e.Diagnosis, c.want) {
			t.Errorf("%q: %s %q %q, want a diagnosis with %q", c.text, e.Kind, e.Message, e.Diagnosis, c.want)
		}
	}
}

// TestForeignNetworkErrorRedactsURLs: a URL in the other client's text
// loses its user info and query, which may carry a secret.
func TestForeignNetworkErrorRedactsURLs(t *testing.T) {
	src := static(testJWT)
	text := "ECONNREFUSED: request to https://bob:pa55@app.example.com/api/x?token=s3cret&a=1 failed, " +
		"via http://proxy.example.com:3128/?key=k3y"
	e := appError(t, Diagnose(src, http.MethodGet, "https://app.example.com/api/x", "", 0, nil, nil, text))
	want := "ECONNREFUSED: request to https://app.example.com/api/x?[REDACTED] failed, via http://proxy.example.com:3128/?[REDACTED]"
	if e.Message != want || e.Kind != KindNetwork {
		t.Errorf("Message %q, want %q", e.Message, want)
	}
	for _, secret := range []string{"pa55", "s3cret", "k3y", "bob"} {
		if strings.Contains(e.Error(), secret) {
			t.Errorf("%q shown: %s", secret, e.Error())
		}
	}
}

// TestExternalBadArguments: bad arguments to Authorize and Diagnose are
// *ArgumentError (the exports' invalid argument), naming the argument.
func TestExternalBadArguments(t *testing.T) {
	src := static(testJWT)
	const app = "https://app.example.com"
	for _, c := range []struct {
		what string
		err  error
		want string
	}{
		{"an app URL with a path", func() error { _, _, _, err := Authorize(app+"/page", src, "GET", app+"/api/x"); return err }(),
			`app URL "https://app.example.com/page": it has the path "/page"`},
		{"no app URL", func() error { _, _, _, err := Authorize("", src, "GET", "/api/x?token=s3cret"); return err }(),
			`the app URL is empty`},
		{"a backslash", func() error { _, _, _, err := Authorize(app, src, "GET", `/api\x?token=s3cret`); return err }(),
			`request URL "/api%5Cx?[REDACTED]": it has a backslash`},
		{"Diagnose, a relative URL", Diagnose(src, "GET", "/api/x", "", 500, nil, nil, ""), `request URL "/api/x"`},
		{"Diagnose, no status and no network error", Diagnose(src, "GET", app+"/api/x", "", 0, nil, nil, ""),
			"needs an HTTP status, or the network error"},
	} {
		var argErr *ArgumentError
		if !errors.As(c.err, &argErr) || !strings.Contains(c.err.Error(), c.want) || strings.Contains(c.err.Error(), "s3cret") {
			t.Errorf("%s: %T %v, want an *ArgumentError with %q", c.what, c.err, c.err, c.want)
		}
	}
}

// renewing is a token source that says when it renews, as *auth.Source does.
type renewing struct {
	oauth2.TokenSource
	at time.Time
}

func (r renewing) RenewsAt(accessToken string) time.Time {
	if tok, _ := r.Token(); tok.AccessToken != accessToken {
		return time.Time{}
	}
	return r.at
}

// TestAuthorizeSaysHowLongItHolds: Authorize gives, with the header, when
// the source will renew its token (until when the same request gets the
// same answer), or zero for a source that does not say.
func TestAuthorizeSaysHowLongItHolds(t *testing.T) {
	const app = "https://app.example.com"
	static := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t0k3n"})
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	got, _, until, err := Authorize(app, renewing{static, at}, "GET", app+"/api/x")
	if err != nil || got != "Bearer t0k3n" || !until.Equal(at) {
		t.Errorf("a source that says: %q until %v, %v", got, until, err)
	}
	if _, _, until, err := Authorize(app, static, "GET", app+"/api/x"); err != nil || !until.IsZero() {
		t.Errorf("a source that does not say: until %v, %v", until, err)
	}
	if _, _, until, err := Authorize(app, renewing{static, at}, "GET", app+"/index.html"); err == nil || !until.IsZero() {
		t.Errorf("a refusal: until %v, %v", until, err)
	}
}

package apps

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// closeTracker is a request body that records whether it was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestTransportRefusesBeforeSending(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	other := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	src := static(testJWT)
	app := newApp(t, srv.URL, src)
	rt := app.Transport(nil)
	for _, c := range []struct{ url, kind string }{
		{srv.URL + "/", KindNotAPIPath},
		{srv.URL + "/index.html", KindNotAPIPath},
		{srv.URL + "/api", KindNotAPIPath},
		{srv.URL + "//api/x/../../login", KindNotAPIPath},
		{other.URL + "/api/whoami", KindOtherHost},
		{strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/api/whoami", KindOtherHost},
	} {
		body := &closeTracker{Reader: strings.NewReader("x")}
		req, _ := http.NewRequest("POST", c.url, body)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			t.Fatalf("%s: a response", c.url)
		}
		e := appError(t, err)
		if e.Kind != c.kind || e.Op != "POST "+c.url {
			t.Errorf("%s: kind %q op %q", c.url, e.Kind, e.Op)
		}
		if !body.closed.Load() {
			t.Errorf("%s: the body of a refused request was not closed", c.url)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	_, err := rt.RoundTrip(req)
	if e := appError(t, err); !strings.Contains(e.Message, "/api (without the final slash) is not an /api/ route") {
		t.Errorf("/api: %q", e.Message)
	}
	if srv.hits.Load() != 0 || other.hits.Load() != 0 || src.calls.Load() != 0 {
		t.Fatalf("refused requests were sent (%d, %d) or asked for tokens (%d)", srv.hits.Load(), other.hits.Load(), src.calls.Load())
	}

	// Admitted: the token replaces the caller's Authorization, on a copy.
	req, _ = http.NewRequest("GET", srv.URL+"/api/x/../whoami", nil)
	req.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.authAt(0) != "Bearer "+testJWT || req.Header.Get("Authorization") != "Basic Zm9vOmJhcg==" {
		t.Fatalf("sent %q; the caller's request now has %q", srv.authAt(0), req.Header.Get("Authorization"))
	}
}

type failing struct{ err error }

func (f failing) Token() (*oauth2.Token, error) { return nil, f.err }

func TestTokenSourceError(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	failure := errors.New("no refresh token: log in again")
	app := newApp(t, srv.URL, oauth2.TokenSource(failing{failure}))
	_, err := app.Get(context.Background(), "/api/whoami")
	if !errors.Is(err, failure) || !strings.Contains(err.Error(), "GET "+srv.URL+"/api/whoami: getting a token: no refresh token") {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatalf("a token source failure is the source's own error, not %v", e)
	}
	if srv.hits.Load() != 0 {
		t.Fatal("sent without a token")
	}
	// Through Client, the same error is inside the *url.Error.
	_, err = app.Client().Get(srv.URL + "/api/whoami")
	if !errors.Is(err, failure) {
		t.Fatalf("Client: %v", err)
	}
}

package apps

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNewRejects(t *testing.T) {
	src := static(testJWT)
	for _, c := range []struct{ url, want string }{
		{"", "the app URL is empty"},
		{"   ", "the app URL is empty"},
		{"my-app.databricksapps.com", "no scheme"},
		{"ftp://host", `the scheme is "ftp"; it must be https`},
		{"https://", "no host"},
		{"https://:8080", "no host"},
		{"https://host/api/whoami", `it has the path "/api/whoami"; give the app's base URL`},
		{"https://host/?a=1", "must not have a query"},
		{"https://host/#x", "must not have a fragment"},
		{"https://host:", "the port after the colon is missing"},
		{"https://host:http", "not a URL"},
		{"https://jane:hunter2-secret@host", "must not carry a user name or password"},
		{"https://jane:hunter2-secret@host:99999999999x", "not a URL"},
	} {
		_, err := New(c.url, src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q) = %v, want an error saying %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("New(%q) repeats the password: %v", c.url, err)
		}
	}
	if _, err := New("https://host", nil); err == nil || !strings.Contains(err.Error(), "no token source") {
		t.Errorf("New without a token source: %v", err)
	}
}

func TestNewNormalises(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://My-App.Example.COM/": "https://my-app.example.com",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"https://[::1]:8443/":         "https://[::1]:8443",
	} {
		a, err := New(in, static(testJWT))
		if err != nil || a.URL() != want {
			t.Errorf("New(%q).URL() = %q, %v; want %q", in, a.URL(), err, want)
		}
	}
}

func TestOptions(t *testing.T) {
	a := newApp(t, "https://host", static(testJWT))
	if c := a.Client(); c.Timeout != 60*time.Second || c.CheckRedirect == nil {
		t.Errorf("default client: timeout %v", c.Timeout)
	}
	if tr, ok := a.base.(*http.Transport); !ok || tr.Proxy == nil || tr == http.DefaultTransport {
		t.Errorf("default transport should be a clone of http.DefaultTransport with a proxy function: %T", a.base)
	}
	custom := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	if a := newApp(t, "https://host", static(testJWT), WithHTTPClient(custom)); a.Client().Timeout != 5*time.Second || a.base != custom.Transport {
		t.Errorf("WithHTTPClient: timeout %v", a.Client().Timeout)
	}
	if a := newApp(t, "https://host", static(testJWT), WithTimeout(time.Second), WithHTTPClient(custom)); a.Client().Timeout != time.Second {
		t.Errorf("WithTimeout wins whatever the order: %v", a.Client().Timeout)
	}
	if a := newApp(t, "https://host", static(testJWT), WithHTTPClient(&http.Client{})); a.Client().Timeout != 60*time.Second || a.base != http.DefaultTransport {
		t.Errorf("a zero client keeps the default timeout and uses http.DefaultTransport: %v %T", a.Client().Timeout, a.base)
	}
	own := &http.Transport{}
	if a := newApp(t, "https://host", static(testJWT), WithTransport(own)); a.Client().Timeout != 60*time.Second || a.base != own {
		t.Errorf("WithTransport: timeout %v, transport %T", a.Client().Timeout, a.base)
	}
	if a := newApp(t, "https://host", static(testJWT), WithTransport(nil)); a.base != sharedTransport() {
		t.Errorf("WithTransport(nil) should leave the default transport: %T", a.base)
	}
	if a := newApp(t, "https://host", static(testJWT), WithTransport(own), WithHTTPClient(custom)); a.base != custom.Transport {
		t.Errorf("WithHTTPClient's transport should take precedence over WithTransport's: %T", a.base)
	}
}

func TestTimeout(t *testing.T) {
	unsetProxies(t)
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)

	app := newApp(t, srv.URL, static(testJWT), WithTimeout(100*time.Millisecond))
	_, err := app.Get(context.Background(), "/api/slow")
	wantKind(t, appError(t, err), KindNetwork, 0, "The app did not answer within 100ms, the client's timeout (WithTimeout changes it)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, context.DeadlineExceeded) = false: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newApp(t, srv.URL, static(testJWT)).Get(ctx, "/api/slow")
	wantKind(t, appError(t, err), KindNetwork, 0, "The context's deadline passed before the app answered")

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = newApp(t, srv.URL, static(testJWT)).Get(ctx, "/api/slow")
	wantKind(t, appError(t, err), KindNetwork, 0, "The call was canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false: %v", err)
	}
}

func TestTLS(t *testing.T) {
	unsetProxies(t)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer tlsSrv.Close()
	_, err := newApp(t, tlsSrv.URL, static(testJWT)).Get(context.Background(), "/api/whoami")
	wantKind(t, appError(t, err), KindNetwork, 0,
		"certificate problem: the server's certificate is signed by an authority this machine does not trust.",
		"A corporate proxy may intercept TLS", "SSL_CERT_FILE")

	// With the test server's own client (which trusts its CA), it works.
	r, err := newApp(t, tlsSrv.URL, static(testJWT), WithHTTPClient(tlsSrv.Client())).Get(context.Background(), "/api/whoami")
	if err != nil || r.Status != 200 {
		t.Fatalf("trusted: %v", err)
	}

	// https:// to a server that speaks plain http.
	plain := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	_, err = newApp(t, strings.Replace(plain.URL, "http://", "https://", 1), static(testJWT)).Get(context.Background(), "/api/whoami")
	wantKind(t, appError(t, err), KindNetwork, 0, "The server did not answer in TLS")
}

func TestBodyLimit(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range maxBody>>20 + 1 {
			w.Write(chunk)
		}
	})
	_, err := newApp(t, srv.URL, static(testJWT)).Get(context.Background(), "/api/big")
	wantKind(t, appError(t, err), KindTooLarge, 200, "read the answer as a stream")
	if !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Fatalf("err = %v", err)
	}
}

// TestDoFullURL: an absolute URL of another host is refused before a
// token is asked for (other_host); a user:password is refused too.
func TestDoFullURL(t *testing.T) {
	src := static(testJWT)
	app := newApp(t, "https://app.example.com", src)
	_, err := app.Get(context.Background(), "https://evil.example.com/api/x")
	if e := appError(t, err); e.Kind != KindOtherHost {
		t.Fatalf("err = %v", err)
	}
	_, err = app.Get(context.Background(), "https://alice:pa55word@app.example.com/api/x")
	if err == nil || !strings.Contains(err.Error(), "must not carry a user name or password") || strings.Contains(err.Error(), "pa55word") {
		t.Fatalf("err = %v", err)
	}
	if src.calls.Load() != 0 {
		t.Fatal("asked for a token")
	}
}

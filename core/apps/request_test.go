package apps

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestRequestNeverShowsUserinfo: Request checks the URL's scheme and host
// as New does, and no error repeats a user:password in it.
func TestRequestNeverShowsUserinfo(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"https://alice:pa55word@app.example.com/api/x", "must not carry a user name or password"},
		{"https://alice:pa55word@app.example.com:bad/api/x", "not a URL"},
		{"alice:pa55word@app.example.com/api/x", `app URL "app.example.com": no scheme`},
		{"app.example.com/api/x", "no scheme"},
		{"ftp://alice:pa55word@app.example.com/api/x", "the scheme is \"ftp\""},
		{"", "the app URL is empty"},
	} {
		src := static(testJWT)
		_, err := Request(context.Background(), src, http.MethodGet, c.url, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.url, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "pa55word") || strings.Contains(err.Error(), "alice") {
			t.Errorf("%s: the error shows the user info: %v", c.url, err)
		}
		if src.calls.Load() != 0 {
			t.Errorf("%s: asked for a token", c.url)
		}
	}
}

// TestRequestRedactsQuery: the query, which may carry a secret, is not in
// Error.Op, nor anywhere in the error; the path is.
func TestRequestRedactsQuery(t *testing.T) {
	unsetProxies(t)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	for _, target := range []string{
		srv.URL + "/api/items?sig=s3cr3t-sig",                 // an answer: 404
		"http://" + deadPort(t) + "/api/items?sig=s3cr3t-sig", // no answer
		srv.URL + "/login?sig=s3cr3t-sig",                     // refused before sending
	} {
		_, err := Request(context.Background(), static(testJWT), http.MethodGet, target, nil, nil)
		e := appError(t, err)
		origin, route := splitOrigin(target)
		path, _, _ := strings.Cut(route, "?")
		if want := "GET " + origin + path + "?[REDACTED]"; e.Op != want {
			t.Errorf("Op %q, want %q", e.Op, want)
		}
		if strings.Contains(e.Error(), "s3cr3t-sig") {
			t.Errorf("the error shows the query: %v", e)
		}
	}
}

package apps

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/internal/useragent"
)

// Transport returns an [http.RoundTripper] that sends requests for the
// app's /api/ routes through base with the header
// "Authorization: Bearer <token>", the token coming from the App's token
// source at each request (an Authorization header already on the request
// is replaced; the request itself is not modified). A nil base means the
// transport of WithHTTPClient's client, or the App's default transport.
//
// It refuses, before sending and before asking for a token, with an
// [*Error]:
//
//   - a request for any other route of the app (Kind "not_api_path"):
//     Databricks Apps accept token authentication only on /api/ routes,
//     and other routes need a browser sign-in. The path is judged with its
//     dot segments resolved, as the server would: /api/../login is /login;
//     and both as sent and decoded: /api/%2e%2e/login is refused too.
//   - a request for any other host, or for the app's host with another
//     scheme or port (Kind "other_host"), so that the token never leaks to
//     another server.
//
// A refused request's body is closed, as the RoundTripper contract asks.
// An error of the token source is returned (wrapped) without sending.
// Like every RoundTripper it never follows redirects; use [App.Client]
// rather than a client with the default redirect policy, which would
// follow a redirect to the sign-in page and then fail on the other host.
func (a *App) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = a.base
	}
	return &transport{app: a, base: base}
}

type transport struct {
	app  *App
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.app.admit(req); err != nil {
		closeBody(req)
		return nil, err
	}
	tok, err := t.app.tokens.Token()
	if err != nil {
		closeBody(req)
		return nil, &tokenError{err}
	}
	var token string
	if tok != nil {
		token = tok.AccessToken
	}
	out := req.Clone(req.Context())
	out.Header.Set("User-Agent", t.app.userAgentOf(req))
	out.Header.Del("Authorization")
	if token != "" { // an empty token is not sent as "Bearer "; the diagnosis says none was sent
		out.Header.Set("Authorization", "Bearer "+token)
	}
	if s, ok := req.Context().Value(sentKey{}).(*sentToken); ok {
		s.set(token)
	}
	return t.base.RoundTrip(out)
}

// userAgentOf is the User-Agent req goes with: lakelink's (with
// WithUserAgent's part and the token source's auth type, when it tells
// one), then the one req had, if any.
func (a *App) userAgentOf(req *http.Request) string {
	ua := UserAgent(a.tokens, a.userAgent)
	if own := req.Header.Get("User-Agent"); own != "" {
		ua += " " + own
	}
	return ua
}

// UserAgent is lakelink's User-Agent of a request with a token from
// tokens, what [App.Do] sends before the request's own User-Agent (if
// any): "lakelink/VERSION go/VERSION os/OS", then extra (key/value pairs
// as [WithUserAgent] takes them; anything else is left out), then
// "auth/TYPE" when tokens tells its type (ask after its first token: an
// *auth.Source of Databricks unified auth learns it then). A client that
// sends what [Authorize] allowed sends this too.
func UserAgent(tokens oauth2.TokenSource, extra string) string {
	if useragent.Check(extra) != nil {
		extra = ""
	}
	var authType string
	if s, ok := tokens.(interface{ AuthType() string }); ok {
		authType = s.AuthType()
	}
	return useragent.String(extra, authType)
}

// admit applies the two rules of where the token may go: to the app's own
// origin, and there to /api/ routes only. It returns nil or the refusal.
func (a *App) admit(req *http.Request) *Error {
	u := req.URL
	op := req.Method + " " + shownURL(u)
	if !sameOrigin(a.origin, u) {
		return &Error{Op: op, Kind: KindOtherHost,
			Message: fmt.Sprintf("refused before sending: %s is not the app's host", originOf(u)),
			Diagnosis: sentences(
				fmt.Sprintf("lakelink sends the app's bearer token only to the app itself, %s; this request was for %s,", a.url, originOf(u)),
				"so it was refused before anything was sent, to keep the token from leaking to another host.",
				"Call other hosts with a client of their own; a redirect from the app to another host is not followed either."),
		}
	}
	if clean, ok := apiPath(u); !ok {
		shown := u.EscapedPath()
		if shown == "" {
			shown = "/"
		}
		switch {
		case clean != shown:
			shown = fmt.Sprintf("%s (%s once its dot segments are resolved)", shown, clean)
		case clean == "/api":
			shown = "/api (without the final slash)"
		}
		return &Error{Op: op, Kind: KindNotAPIPath,
			Message: fmt.Sprintf("refused before sending: %s is not an /api/ route", shown),
			Diagnosis: sentences(
				"Databricks Apps accept token authentication only on /api/ routes, so lakelink sends the token nowhere else and refused this request before sending it.",
				fmt.Sprintf("Other routes need a browser sign-in: open %s in a browser.", a.url+clean),
				"If the app should answer programs there, serve the route under /api/."),
		}
	}
	return nil
}

// apiPath reports whether u's path is under /api/ however a server reads
// it: as it is sent, and decoded (%2F a slash, %2E a dot, %5C a backslash,
// which some servers take for a slash), each with its dot segments and
// repeated slashes resolved. clean is the first reading that is not under
// /api/, or the decoded one.
func apiPath(u *url.URL) (clean string, ok bool) {
	if clean, ok = cleanPath(strings.ReplaceAll(u.Path, `\`, "/")); !ok {
		return clean, false
	}
	if sent, ok := cleanPath(u.EscapedPath()); !ok {
		return sent, false
	}
	return clean, true
}

// cleanPath resolves the dot segments and repeated slashes of p, as a
// server would, and reports whether the result is under /api/.
func cleanPath(p string) (clean string, ok bool) {
	if p == "" {
		p = "/"
	}
	clean = path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean, strings.HasPrefix(clean, "/api/")
}

// sameOrigin reports whether u has the scheme, host and port of origin,
// default ports made explicit, ports compared as numbers and host names
// compared without case but otherwise as written: 127.0.0.1 is not
// localhost, [::1] not [0::1], and app.example.com. (with a final dot) not
// app.example.com.
func sameOrigin(origin, u *url.URL) bool {
	return strings.EqualFold(origin.Scheme, u.Scheme) &&
		strings.EqualFold(origin.Hostname(), u.Hostname()) &&
		portOf(origin) == portOf(u)
}

// portOf is u's port without leading zeros, or its scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		if p = strings.TrimLeft(p, "0"); p == "" {
			return "0"
		}
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// hostPort is u's host and port, the port made explicit: what a
// connection goes to.
func hostPort(u *url.URL) string { return net.JoinHostPort(u.Hostname(), portOf(u)) }

// originOf is scheme://host[:port] of u.
func originOf(u *url.URL) string { return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() }

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// tokenError is a failure of the token source, told apart from network
// failures by Do.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "apps: getting a token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// sentKey is the context key under which Do asks the transport to record
// the token it sent, so that the diagnosis reads the very token the app
// saw (the source may hand out a different one by then).
type sentKey struct{}

// sentToken records the token the transport put on a request.
type sentToken struct {
	mu    sync.Mutex
	token string
	sent  bool // a request went out; token may be empty when the source gave none
}

func (s *sentToken) set(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.sent = token, true
}

// attempt is what the transport sent: whether a request went out, and
// with which token (empty: none).
type attempt struct {
	token string
	sent  bool
}

func (s *sentToken) get() attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return attempt{s.token, s.sent}
}

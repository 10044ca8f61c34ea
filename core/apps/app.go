package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpproxy"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/internal/useragent"
	"github.com/lakelink/lakelink/core/weburl"
)

// defaultTimeout bounds a whole call (connecting, sending, reading the
// answer) unless WithTimeout or WithHTTPClient says otherwise.
const defaultTimeout = 60 * time.Second

// maxBody is the most Do reads of an answer: 64 MiB. A larger answer is an
// *Error of Kind too_large; stream it with Client instead.
const maxBody = 64 << 20

// App is a Databricks App reached at a base URL with bearer tokens from a
// token source. Make one with [New]. An App is immutable and safe for
// concurrent use.
type App struct {
	url    string   // the normalised base URL: scheme://host[:port]
	origin *url.URL // the same, parsed
	tokens oauth2.TokenSource

	// Set by options, resolved by New.
	httpClient *http.Client      // from WithHTTPClient, or nil
	transport  http.RoundTripper // from WithTransport, or nil
	timeout    time.Duration
	timeoutSet bool   // WithTimeout was given
	userAgent  string // from WithUserAgent

	base   http.RoundTripper // what Transport(nil) wraps
	client *http.Client      // what Do sends with: Client()
}

// Option configures an [App] in [New].
type Option func(*App)

// WithHTTPClient makes the App send through c's Transport (nil meaning
// [http.DefaultTransport]) and keep c's cookie Jar; the App's own clients
// never follow redirects, whatever c.CheckRedirect says. c's Timeout
// applies unless it is zero or [WithTimeout] is given too. A nil c leaves
// the default: a clone of http.DefaultTransport that finds its proxy in
// the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, as
// [http.ProxyFromEnvironment] does, but reading the variables on every
// request rather than once per process) and a 60-second timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(a *App) { a.httpClient = c }
}

// WithTransport makes the App send through rt in place of its default
// transport (a transport shared by every App of the process that finds its
// proxy in the environment, see [WithHTTPClient]); nil leaves the default.
// The WASI build passes the host's HTTP import. The transport of
// WithHTTPClient's client, when given, takes precedence.
func WithTransport(rt http.RoundTripper) Option {
	return func(a *App) { a.transport = rt }
}

// WithUserAgent names the binding or program over lakelink in the
// User-Agent of the App's requests, after lakelink's own
// "lakelink/VERSION go/VERSION os/OS" and before the token source's
// "auth/TYPE" (see auth.Config.UserAgent): key/value pairs separated by
// spaces, such as "binding/python python/3.11.7". A value that is not
// such pairs is left out.
func WithUserAgent(extra string) Option {
	return func(a *App) {
		if useragent.Check(extra) == nil {
			a.userAgent = extra
		}
	}
}

// WithTimeout bounds each call made with [App.Do] or [App.Client], from
// connecting to reading the whole answer (default 60 s). Zero or a negative
// d means no limit beyond the context's.
func WithTimeout(d time.Duration) Option {
	return func(a *App) { a.timeout, a.timeoutSet = max(d, 0), true }
}

// New returns the App at baseURL, which must be http(s)://host[:port] with
// at most a trailing slash: the app's URL as its page in the workspace
// shows it (https://<name>-<workspace id>.<region>.databricksapps.com), or
// the emulator's. Routes such as /api/whoami are given to Do, not here.
// tokens supplies the bearer tokens: Databricks OAuth access tokens of the
// app's workspace. It is called once per request; wrap it in
// [oauth2.ReuseTokenSource] (lakelink's own sources already cache) to
// reuse a token until it expires.
//
// The error names what is wrong with baseURL.
func New(baseURL string, tokens oauth2.TokenSource, opts ...Option) (*App, error) {
	origin, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if tokens == nil {
		return nil, errors.New("apps: no token source: New needs an oauth2.TokenSource for the bearer tokens")
	}
	a := &App{url: origin.String(), origin: origin, tokens: tokens, timeout: defaultTimeout}
	for _, opt := range opts {
		opt(a)
	}
	a.base = a.transport
	if a.base == nil {
		a.base = sharedTransport()
	}
	if c := a.httpClient; c != nil {
		a.base = c.Transport
		if a.base == nil {
			a.base = http.DefaultTransport
		}
		if !a.timeoutSet && c.Timeout > 0 {
			a.timeout = c.Timeout
		}
	}
	a.client = a.Client()
	return a, nil
}

// parseBaseURL checks that s is http(s)://host[:port][/] and returns it
// without the slash, with the scheme and host in lower case. Its scheme
// and host follow [weburl.Check]: https, or http for a loopback host.
func parseBaseURL(s string) (*url.URL, error) {
	fail := func(shown, problem string) (*url.URL, error) {
		return nil, &ArgumentError{fmt.Sprintf("apps: app URL %q: %s", shown, problem)}
	}
	if strings.TrimSpace(s) == "" {
		return nil, &ArgumentError{"apps: the app URL is empty: give the app's URL, https://host, as its page in the workspace shows it"}
	}
	if !strings.Contains(s, "://") { // "host", "user:password@host" and "host:port" would parse as a scheme
		return fail(stripUserinfo(s), "no scheme: write it as https://host (or http://127.0.0.1:port for a local emulator)")
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse quotes the input; a user:password in it must not be
		// repeated, so say only what kind of problem it is.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fail(stripUserinfo(s), "not a URL: "+err.Error())
	}
	shown := shownURL(u)
	if err := weburl.Check(u); err != nil {
		return fail(shown, err.Error())
	}
	switch {
	case u.User != nil:
		return fail(shown, "it must not carry a user name or password: the bearer token authenticates")
	case u.Opaque != "":
		return fail(shown, "not in the form scheme://host")
	case strings.Contains(s, `\`):
		return fail(shown, "it has a backslash, which programs read differently: give the app's base URL, scheme://host[:port]")
	case u.Path != "" && u.Path != "/":
		return fail(shown, fmt.Sprintf("it has the path %q; give the app's base URL (scheme://host[:port]) and pass routes such as /api/whoami to Do", u.Path))
	case u.RawQuery != "" || u.ForceQuery:
		return fail(shown, "it must not have a query (?...); pass it with the route to Do")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fail(shown, "it must not have a fragment (#...)")
	case strings.HasSuffix(u.Host, ":"):
		return fail(shown, "the port after the colon is missing")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fail(shown, fmt.Sprintf("the port %q is not a number from 1 to 65535", p))
		}
	}
	return &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)}, nil
}

// stripUserinfo removes a user:password@ from what looks like a URL,
// without parsing it, for error texts about values that do not parse.
func stripUserinfo(s string) string {
	origin, route := splitOrigin(s)
	scheme, authority, _ := strings.Cut(origin, "://")
	if authority == "" { // no scheme
		scheme, authority = "", origin
	} else {
		scheme += "://"
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = authority[at+1:]
	}
	return scheme + authority + route
}

// splitOrigin splits what looks like a URL, without parsing it, into its
// scheme and authority (user info, host, port) and the rest: the path,
// query and fragment. A "://" after the start of the path (in a query,
// say) is not a scheme's.
func splitOrigin(s string) (origin, route string) {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
		start = i + 3
	}
	end := strings.IndexAny(s[start:], "/?#")
	if end < 0 {
		return s, ""
	}
	return s[:start+end], s[start+end:]
}

// shownURL is u as error texts show it: without a user:password, and with
// its query, which may carry a secret, redacted.
func shownURL(u *url.URL) string {
	shown := *u
	shown.User = nil
	if shown.RawQuery != "" || shown.ForceQuery {
		shown.RawQuery, shown.ForceQuery = redacted, false
	}
	return shown.String()
}

// sharedTransport is the default transport of every App in the process, so
// that calls reuse connections: with one per App, Request (an App per call,
// as the C library's lakelink_app_request makes) opened a connection per
// call and left it idle for 90 seconds.
var sharedTransport = sync.OnceValue(defaultTransport)

// defaultTransport is a clone of http.DefaultTransport that finds its
// proxy in the environment on every request, so that what the diagnosis of
// a network error says about the proxy variables is what the request did.
func defaultTransport() *http.Transport {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok { // a program replaced it; start from Go's defaults
		t = &http.Transport{ForceAttemptHTTP2: true, MaxIdleConns: 100, IdleConnTimeout: 90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	}
	t = t.Clone()
	t.Proxy = proxyFromEnvironment
	return t
}

// proxyFromEnvironment is http.ProxyFromEnvironment without its
// process-wide cache: the same rules (HTTP_PROXY for http URLs,
// HTTPS_PROXY for https, NO_PROXY exceptions, loopback hosts never
// proxied), read afresh.
func proxyFromEnvironment(req *http.Request) (*url.URL, error) {
	return httpproxy.FromEnvironment().ProxyFunc()(req.URL)
}

// URL returns the app's base URL, scheme://host[:port], without a trailing
// slash.
func (a *App) URL() string { return a.url }

// Client returns a new [http.Client] that sends through [App.Transport]
// (over the transport of WithHTTPClient's client, or the default one),
// with the App's timeout and cookie jar. It does not follow redirects: its
// CheckRedirect returns [http.ErrUseLastResponse], so a redirect to the
// sign-in page reaches the caller as the 302 it is. Requests it refuses
// fail with a *url.Error wrapping an [*Error] (errors.As finds it).
func (a *App) Client() *http.Client {
	c := &http.Client{
		Transport:     a.Transport(nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       a.timeout,
	}
	if a.httpClient != nil {
		c.Jar = a.httpClient.Jar
	}
	return c
}

// Response is an app's answer, with its body read.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the whole body, up to 64 MiB.
	Body []byte
	// URL is where the request went: the path resolved against the app's
	// URL, on the app's own scheme and host.
	URL string
}

// Do sends method (GET when empty) to path, a reference resolved against
// the base URL as RFC 3986 says: a path with its query ("/api/whoami",
// "/api/items?next=https://x"), or an absolute URL of the app (one of
// another origin is refused, as below; the request goes to the app's own
// scheme and host as New normalised them), with
// body and the extra header fields in header (either may be nil; an
// Authorization field is replaced by the bearer token). It reads the whole
// answer, up to 64 MiB.
//
// A 2xx status returns the Response and a nil error. Any other status
// returns the Response (for callers who want the body) together with an
// [*Error] that says what to check; so does a redirect, which Do never
// follows. A network failure, an answer larger than 64 MiB (Kind
// too_large), or a URL the token may not go to (refused before sending, by
// [App.Transport]) returns a nil Response and an *Error. A
// failure of the token source is returned wrapped, as it is, in an error
// that names the call; errors.As finds the source's own error type.
func (a *App) Do(ctx context.Context, method, path string, body io.Reader, header http.Header) (*Response, error) {
	if ctx == nil {
		return nil, errors.New("apps: Do needs a context; pass context.Background() for none")
	}
	if method == "" {
		method = http.MethodGet
	}
	target, err := a.target(method, path)
	if err != nil {
		return nil, err
	}
	op := method + " " + shownURL(target)
	sent := &sentToken{}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, sentKey{}, sent), method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("apps: %s: %w", op, err)
	}
	for name, values := range header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, a.sendFailed(ctx, op, req.URL, sent, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, a.networkError(ctx, op, req.URL, sent.get(), fmt.Errorf("reading the answer (status %d): %w", resp.StatusCode, err))
	}
	if len(data) > maxBody {
		return nil, &Error{Op: op, Status: resp.StatusCode, Kind: KindTooLarge,
			Message: fmt.Sprintf("the answer is larger than %d MiB, the most lakelink reads into memory", maxBody>>20),
			Diagnosis: "Ask the app for less at a time (pages), or read the answer as a stream: " +
				"in Go with App.Client, in Node with the native binding's App.fetch."}
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data, URL: target.String()}
	if r.Status >= 200 && r.Status < 300 {
		return r, nil
	}
	return r, a.statusError(op, req.URL, r, sent.get())
}

// Get is Do with GET, no body and no extra header.
func (a *App) Get(ctx context.Context, path string) (*Response, error) {
	return a.Do(ctx, http.MethodGet, path, nil, nil)
}

// Post is Do with POST and body, whose Content-Type is contentType (none
// when empty).
func (a *App) Post(ctx context.Context, path, contentType string, body io.Reader) (*Response, error) {
	var header http.Header
	if contentType != "" {
		header = http.Header{"Content-Type": {contentType}}
	}
	return a.Do(ctx, http.MethodPost, path, body, header)
}

// target is the URL a request for ref goes to, or why it may not go. ref
// is resolved against the base URL as RFC 3986 resolves a reference: a
// path with its query ("/api/whoami", "api/items?next=https://x"), or an
// absolute URL. The result must be an /api/ route of the app's own origin
// ([App.admit]: an *Error of Kind other_host or not_api_path otherwise).
// The URL returned has the app's own scheme and host, as New normalised
// them, whatever spelling of them ref used: the request goes where the
// app's URL says, and nowhere a reading of ref could send it.
//
// A ref that is not a URL, that carries a user name or password, has no
// host after resolution ("http:/api/x"), or has a backslash before its
// query (which browsers read as a slash, and Go as a character) is an
// [*ArgumentError].
func (a *App) target(method, ref string) (*url.URL, error) {
	invalid := func(shown, problem string) (*url.URL, error) {
		return nil, &ArgumentError{fmt.Sprintf("apps: request URL %q: %s", shown, problem)}
	}
	r, err := url.Parse(ref)
	if err != nil {
		shown, _, _ := strings.Cut(stripUserinfo(ref), "?")
		return invalid(shown, "not a URL; give a path such as /api/whoami, or an absolute URL of the app")
	}
	shown := shownURL(r)
	beforeQuery, _, _ := strings.Cut(ref, "?")
	beforeQuery, _, _ = strings.Cut(beforeQuery, "#")
	switch u := a.origin.ResolveReference(r); {
	case r.User != nil:
		return invalid(shown, "it must not carry a user name or password: the bearer token authenticates")
	case strings.Contains(beforeQuery, `\`):
		return invalid(shown, `it has a backslash, which programs read differently: write / between segments, or %5C for a backslash in one`)
	case u.Host == "" || u.Opaque != "":
		return invalid(shown, "give a path such as /api/whoami, or an absolute URL scheme://host/path of the app")
	default:
		if refused := a.admit(&http.Request{Method: method, URL: u}); refused != nil {
			return nil, refused
		}
		return &url.URL{Scheme: a.origin.Scheme, Host: a.origin.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}, nil
	}
}

// sendFailed turns the error of http.Client.Do into Do's error: a request
// the transport refused is returned as it is, a token source failure
// wrapped, anything else diagnosed as a network failure.
func (a *App) sendFailed(ctx context.Context, op string, u *url.URL, sent *sentToken, err error) error {
	var refused *Error
	if errors.As(err, &refused) {
		return refused
	}
	var tokErr *tokenError
	if errors.As(err, &tokErr) {
		return fmt.Errorf("%s: getting a token: %w", op, tokErr.err)
	}
	return a.networkError(ctx, op, u, sent.get(), err)
}

// Request calls one route given by its absolute URL, for callers that hold
// a URL rather than an App (the CLI's call command): the app is the URL's
// own origin, made with opts. New takes the URL's scheme and host (and says
// what is wrong with them, never repeating a user:password), Do the rest. Callers that
// know the app's URL use New and Do, so that a URL of another host is
// refused.
func Request(ctx context.Context, tokens oauth2.TokenSource, method, rawURL string, header http.Header, body io.Reader, opts ...Option) (*Response, error) {
	origin, route := splitOrigin(rawURL)
	app, err := New(origin, tokens, opts...)
	if err != nil {
		return nil, err
	}
	return app.Do(ctx, method, route, body, header)
}

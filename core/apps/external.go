package apps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

// Authorize applies the rules of [App.Do] to a request that another HTTP
// client sends (a binding's own fetch, whose streaming and cancellation
// the caller keeps). appURL is the app's base URL, as [New] takes it; ref
// is resolved against it as Do resolves its path, and must be an /api/
// route of the app. It returns target, the absolute URL to send the
// request to (on the app's own scheme and host, as Do would send it), and
// the Authorization header to send with it, "Bearer <token>" with a token
// from tokens ("" when the source gives an empty token, which is not
// sent); or the refusal before asking for a token: an [*Error] of Kind
// not_api_path or other_host, as Transport's, or an [*ArgumentError] for
// an appURL or ref that is not one. The other client must send to target
// (not to its own reading of ref) and must not follow redirects, which
// would carry the header to another URL; give its answer, when not 2xx,
// to [Diagnose].
//
// reuseUntil is when tokens will renew the token it gave (when it says: an
// *auth.Source does), zero otherwise: until then, Authorize answers the
// same for the same method and ref unless the token is refused, so a
// caller may keep the header for identical requests instead of asking
// again, and must ask again after an answer other than 2xx or none.
func Authorize(appURL string, tokens oauth2.TokenSource, method, ref string) (authorization, target string, reuseUntil time.Time, err error) {
	a, err := newExternal(appURL, tokens)
	if err != nil {
		return "", "", time.Time{}, err
	}
	u, err := a.target(method, ref)
	if err != nil {
		return "", "", time.Time{}, err
	}
	target = u.String()
	tok, err := tokens.Token()
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("%s %s: getting a token: %w", method, shownURL(u), err)
	}
	if tok == nil || tok.AccessToken == "" {
		return "", target, time.Time{}, nil
	}
	if r, ok := tokens.(interface {
		RenewsAt(accessToken string) time.Time
	}); ok {
		reuseUntil = r.RenewsAt(tok.AccessToken) // zero if the source holds another token by now
	}
	return "Bearer " + tok.AccessToken, target, reuseUntil, nil
}

// Diagnose returns the error [App.Do] would have returned had it sent
// itself a request that [Authorize] allowed and another HTTP client sent:
// for an answer whose status is not 2xx (a redirect included: the client
// must not follow it), an [*Error] diagnosed from status, header and body;
// for status 0, an *Error of Kind network diagnosed from networkErr, the
// client's description of the failure, which may start with an errno or
// Node code ("ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9"; see
// [ForeignNetworkError]). sentAuthorization is the Authorization header
// the request carried: the diagnosis reads its token (principal, expiry,
// scopes) and never shows it. A 2xx status returns nil.
func Diagnose(tokens oauth2.TokenSource, method, rawURL, sentAuthorization string, status int, header http.Header,
	body []byte, networkErr string) error {
	if status >= 200 && status < 300 {
		return nil
	}
	if status == 0 && networkErr == "" {
		return &ArgumentError{"apps: Diagnose needs an HTTP status, or the network error when there was no answer"}
	}
	a, u, err := external(tokens, rawURL)
	if err != nil {
		return err
	}
	if header == nil {
		header = http.Header{}
	}
	token, _ := strings.CutPrefix(sentAuthorization, "Bearer ")
	sent := attempt{token: token, sent: true}
	op := method + " " + shownURL(u)
	if status == 0 {
		return a.networkError(context.Background(), op, u, sent, ForeignNetworkError(networkErr, u.Hostname()))
	}
	return a.statusError(op, u, &Response{Status: status, Header: header, Body: body}, sent)
}

// external is the App of a request another client sent, and its URL: the
// app is the URL's own origin.
func external(tokens oauth2.TokenSource, rawURL string) (*App, *url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.User != nil || !u.IsAbs() {
		shown := stripUserinfo(rawURL)
		if err == nil {
			shown = shownURL(u)
		}
		return nil, nil, &ArgumentError{fmt.Sprintf("apps: request URL %q: give the absolute URL of an /api/ route of the app, without a user name or password", shown)}
	}
	origin, _ := splitOrigin(rawURL)
	a, err := newExternal(origin, tokens)
	if err != nil {
		return nil, nil, err
	}
	return a, u, nil
}

// newExternal is the App at appURL for a request another client sends. It
// diagnoses but never sends: its transport is otherClient, and it has no
// timeout of its own.
func newExternal(appURL string, tokens oauth2.TokenSource) (*App, error) {
	return New(appURL, tokens, WithHTTPClient(&http.Client{Transport: otherClient{}}), WithTimeout(0))
}

// otherClient stands for the HTTP client that sends what Authorize
// allowed: the diagnosis says that lakelink does not know its proxy
// settings.
type otherClient struct{}

func (otherClient) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("apps: this App only diagnoses the answers another HTTP client got")
}

// ForeignNetworkError is the Go error that stands for a network failure
// another HTTP client described in text, so that it gets the diagnosis Go's
// own error would: the first errno or Node code in text that lakelink knows
// (ECONNREFUSED, ENOTFOUND, EAI_AGAIN, ETIMEDOUT, ECONNRESET, ENETUNREACH,
// EHOSTUNREACH, Node's and OpenSSL's certificate codes, undici's UND_ERR_*
// codes) maps onto the corresponding Go error; host is the host called.
// Its text is text with the user info and query of URLs in it redacted.
func ForeignNetworkError(text, host string) error {
	text = redactURLs(text)
	for _, code := range foreignCode.FindAllString(text, -1) {
		if err := foreignCause(code, text, host); err != nil {
			return &foreignError{text: text, err: err}
		}
	}
	return &foreignError{text: text, err: errors.New(text)}
}

// foreignCode finds the words of a foreign error's text that look like codes.
var foreignCode = regexp.MustCompile(`\b(?:E[A-Z]{3,}|EAI_[A-Z]+|UND_ERR_[A-Z_]+|ERR_[A-Z0-9_]+|CERT_[A-Z_]+|UNABLE_TO_[A-Z_]+|(?:DEPTH_ZERO_)?SELF_SIGNED_CERT[A-Z_]*|ABORT_ERR)\b`)

// foreignURL finds what looks like a URL in a foreign error's text.
var foreignURL = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// redactURLs removes the user info and query, which may hold a secret, of
// the URLs in text.
func redactURLs(text string) string {
	return foreignURL.ReplaceAllStringFunc(text, func(s string) string {
		if u, err := url.Parse(s); err == nil {
			return shownURL(u)
		}
		s, _, _ = strings.Cut(stripUserinfo(s), "?")
		return s
	})
}

// foreignCause maps a foreign code onto the Go error of the same failure;
// nil for a code lakelink does not know.
func foreignCause(code, text, host string) error {
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	switch code {
	case "ECONNREFUSED":
		return dial(os.NewSyscallError("connect", syscall.ECONNREFUSED))
	case "ENOTFOUND":
		return &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	case "EAI_AGAIN":
		return &net.DNSError{Err: "temporary failure in name resolution", Name: host, IsTemporary: true}
	case "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT":
		return dial(os.ErrDeadlineExceeded)
	case "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT":
		return os.ErrDeadlineExceeded
	case "ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED":
		return syscall.ECONNRESET
	case "ENETUNREACH":
		return syscall.ENETUNREACH
	case "EHOSTUNREACH":
		return syscall.EHOSTUNREACH
	case "ABORT_ERR":
		return context.Canceled
	case "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
		"SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT":
		return x509.UnknownAuthorityError{}
	case "ERR_TLS_CERT_ALTNAME_INVALID":
		return x509.HostnameError{Certificate: &x509.Certificate{}, Host: host}
	case "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID":
		return x509.CertificateInvalidError{Cert: &x509.Certificate{}, Reason: x509.Expired}
	case "EPROTO", "ERR_SSL_WRONG_VERSION_NUMBER":
		if strings.Contains(strings.ToLower(text), "wrong version number") {
			return tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}
		}
	}
	return nil
}

// foreignError is a network failure another client described: its text,
// and the Go error it stands for.
type foreignError struct {
	text string
	err  error
}

func (e *foreignError) Error() string { return e.text }
func (e *foreignError) Unwrap() error { return e.err }

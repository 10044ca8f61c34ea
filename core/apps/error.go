package apps

import (
	"net/http"
	"strconv"
	"strings"
)

// Kinds of [Error], for programs that act on a failure (a CLI's exit code, a
// binding's exception class). People read Diagnosis instead.
const (
	// KindUnauthorized is a 401: the platform did not accept the token.
	KindUnauthorized = "unauthorized"
	// KindForbidden is a 403: the principal may not use the app, or the
	// token lacks a scope the route requires.
	KindForbidden = "forbidden"
	// KindNotFound is a 404: wrong URL, app not running, or no such route.
	KindNotFound = "not_found"
	// KindLoginRedirect is a redirect to the browser sign-in: the request
	// carried no usable token.
	KindLoginRedirect = "login_redirect"
	// KindNetwork is a failure to reach the app or to read its answer:
	// DNS, connection, TLS, proxy, timeout. Status is 0 and Err holds the
	// cause.
	KindNetwork = "network"
	// KindNotAPIPath is a request for a route of the app outside /api/,
	// refused before sending: such routes need a browser sign-in.
	KindNotAPIPath = "not_api_path"
	// KindOtherHost is a request for a host other than the app's, refused
	// before sending so that the token does not leak.
	KindOtherHost = "other_host"
	// KindTooLarge is an answer larger than Do reads into memory (64 MiB):
	// Status is the answer's, its body is not returned.
	KindTooLarge = "too_large"
	// KindHTTP is any other unsuccessful HTTP status.
	KindHTTP = "http"
)

// ArgumentError is a bad argument, refused before any request: an app URL
// that is not one, a request URL that is not absolute. Its text names the
// argument.
type ArgumentError struct{ Message string }

func (e *ArgumentError) Error() string { return e.Message }

// Error is a failed app call: what happened and what to check.
//
// Its text, Op, Message and Diagnosis never contain the access token.
type Error struct {
	// Op is the call: method and URL, such as
	// "GET https://my-app-123.aws.databricksapps.com/api/whoami". A query
	// is shown as ?[REDACTED], since it may carry a secret.
	Op string
	// Status is the HTTP status; 0 for a network error or a request
	// refused before sending.
	Status int
	// Message is the app's or the platform's own message, taken from a
	// JSON body ({"error_code", "message"}, {"error", "error_description"}
	// or {"detail"}) or the first line of a text body. For a network error
	// it is the error's text; for a refused request, the reason.
	Message string
	// Kind classifies the failure: one of the Kind constants.
	Kind string
	// Diagnosis is one or more sentences for a person: why the call
	// failed, as far as lakelink can tell, and what to check.
	Diagnosis string
	// Err is the underlying error of a network failure; nil otherwise.
	Err error
}

// Error returns the call, the status, the message and, on the next line,
// the diagnosis:
//
//	GET https://host/api/x: 403 Forbidden: <message>
//	<diagnosis>
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Status != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.Status))
		if text := http.StatusText(e.Status); text != "" {
			b.WriteString(" ")
			b.WriteString(text)
		}
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Diagnosis != "" {
		b.WriteString("\n")
		b.WriteString(e.Diagnosis)
	}
	return b.String()
}

// Unwrap returns the underlying error of a network failure, so that
// errors.Is(err, context.DeadlineExceeded) and the like work.
func (e *Error) Unwrap() error { return e.Err }

// redacted stands in for a secret in error text.
const redacted = "[REDACTED]"

// scrub removes the access token (and its signature alone, should an
// answer quote only that) from every text field. The package never puts a
// token into these fields itself; this guards against apps, proxies or
// underlying errors that echo one back. Strings shorter than six characters
// are left alone: they are not tokens, and replacing them would garble the
// text.
func (e *Error) scrub(token string) {
	secrets := []string{token}
	if parts := strings.Split(token, "."); len(parts) == 3 && len(parts[2]) >= 16 {
		secrets = append(secrets, parts[2])
	}
	for _, s := range secrets {
		if len(s) < 6 {
			continue
		}
		e.Op = strings.ReplaceAll(e.Op, s, redacted)
		e.Message = strings.ReplaceAll(e.Message, s, redacted)
		e.Diagnosis = strings.ReplaceAll(e.Diagnosis, s, redacted)
	}
}

// sentences joins non-empty sentences with single spaces.
func sentences(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/lakelink/lakelink/core/apps"
)

// Headers are header fields on the wire: a JSON object of names to a value
// or a list of values ({"Accept": "text/plain", "X-Tag": ["a", "b"]}).
// Answers give every value as a list.
type Headers http.Header

// UnmarshalJSON reads an object of names to a string or a list of strings.
func (h *Headers) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return &ArgumentError{Message: "not a JSON object of header names to a string or a list of strings"}
	}
	header := http.Header{}
	for name, v := range fields {
		var one string
		var many []string
		switch {
		case json.Unmarshal(v, &one) == nil:
			header.Add(name, one)
		case json.Unmarshal(v, &many) == nil:
			for _, s := range many {
				header.Add(name, s)
			}
		default:
			return &ArgumentError{Message: fmt.Sprintf("the value of %q is not a string or a list of strings", name)}
		}
	}
	*h = Headers(header)
	return nil
}

// AppRequest is a call of a Databricks App's route with a bearer token.
type AppRequest struct {
	Conn string `json:"conn"`
	// AppURL is the app's URL, https://host[:port], the only origin the
	// token goes to.
	AppURL string `json:"app_url"`
	// Method defaults to GET.
	Method string `json:"method"`
	// URL is a reference resolved against AppURL (RFC 3986): an /api/ route
	// with its query, or an absolute URL of the app.
	URL     string  `json:"url"`
	Headers Headers `json:"headers"`
	Body    []byte  `json:"body"` // base64 in JSON
}

// AppResponse is an app's answer.
type AppResponse struct {
	Status  int         `json:"status"`
	Headers http.Header `json:"headers"`
	Body    []byte      `json:"body"` // base64 in JSON
	// URL is where the request went: on AppURL's own scheme and host.
	URL string `json:"url"`
}

// CallApp sends r with a bearer token for r.Conn. An answer other than 2xx
// comes back together with its error (an App error saying what to check):
// the app's body may explain.
func (p Ops) CallApp(ctx context.Context, r AppRequest) (resp *AppResponse, err error) {
	defer classify(&err, Auth)
	if r.AppURL == "" {
		return nil, &ArgumentError{Message: "app_url is missing: give the app's URL (https://host), the only origin the token may go to"}
	}
	src, err := p.tokenSource(r.Conn)
	if err != nil {
		return nil, err
	}
	app, err := apps.New(r.AppURL, src, apps.WithTransport(p.transport()), apps.WithUserAgent(p.userAgent()))
	if err != nil {
		return nil, err
	}
	answer, err := app.Do(ctx, r.Method, r.URL, bytes.NewReader(r.Body), http.Header(r.Headers))
	if answer == nil {
		return nil, err
	}
	return &AppResponse{Status: answer.Status, Headers: answer.Header, Body: answer.Body, URL: answer.URL}, err
}

// Authorize is what a caller that sends an app request with its own HTTP
// client asks first: may method go to URL, where, with which header.
type Authorize struct {
	Conn   string `json:"conn"`
	AppURL string `json:"app_url"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

// Authorization is the answer to Authorize.
type Authorization struct {
	// URL is the absolute URL to send the request to.
	URL string `json:"url"`
	// Authorization is the Authorization header's value, "Bearer <token>"
	// (a secret), or "" when the token source gave an empty token.
	Authorization string `json:"authorization"`
	// ReuseMS is for how many milliseconds from now the same request gets
	// the same answer (until the token's renewal), 0 when unknown. A
	// duration, not an instant: the caller's wall clock may step, and the
	// library's own counts on a monotonic one.
	ReuseMS int64 `json:"reuse_ms"`
	// UserAgent is the User-Agent to send: lakelink's, the binding's part
	// and the token's auth type (apps.UserAgent), as CallApp sends it.
	UserAgent string `json:"user_agent"`
}

// String shows the URL, never the header.
func (a Authorization) String() string {
	return fmt.Sprintf("Authorization{URL: %s, Authorization: ***, ReuseMS: %d}", a.URL, a.ReuseMS)
}

// GoString is String, so that %#v hides the header too.
func (a Authorization) GoString() string { return a.String() }

// AuthorizeApp checks that r may carry r.Conn's token, as CallApp does,
// and returns where and with which header to send it.
func (p Ops) AuthorizeApp(_ context.Context, r Authorize) (a *Authorization, err error) {
	defer classify(&err, Auth)
	src, err := p.tokenSource(r.Conn)
	if err != nil {
		return nil, err
	}
	authorization, target, until, err := apps.Authorize(r.AppURL, src, r.Method, r.URL)
	if err != nil {
		return nil, err
	}
	var ms int64
	if !until.IsZero() {
		ms = max(0, time.Until(until).Milliseconds())
	}
	return &Authorization{URL: target, Authorization: authorization, ReuseMS: ms, UserAgent: apps.UserAgent(src, p.userAgent())}, nil
}

// Diagnose is the answer another HTTP client got to a request AuthorizeApp
// allowed, to diagnose.
type Diagnose struct {
	Conn   string `json:"conn"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// SentAuthorization is the Authorization header the request carried;
	// its token is read, never shown.
	SentAuthorization string `json:"sent_authorization"`
	// Status is the HTTP status, 0 when there was no answer.
	Status  int     `json:"status"`
	Headers Headers `json:"headers"`
	Body    []byte  `json:"body"`
	// NetworkError is, with Status 0, the client's description of the
	// failure ("ECONNREFUSED: ...").
	NetworkError string `json:"network_error"`
}

// DiagnoseApp returns the error CallApp would have returned for r's
// answer: nil for a 2xx status, an App error otherwise.
func (p Ops) DiagnoseApp(_ context.Context, r Diagnose) (_ struct{}, err error) {
	defer classify(&err, Auth)
	src, err := p.tokenSource(r.Conn)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, apps.Diagnose(src, r.Method, r.URL, r.SentAuthorization, r.Status, http.Header(r.Headers), r.Body, r.NetworkError)
}

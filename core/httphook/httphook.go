// Package httphook is the one place where a program can send every HTTP
// request of lakelink's core through an http.RoundTripper of its own: the
// OAuth discovery and token endpoint calls (package auth), the
// databricks-sdk-go clients (unified auth, Lakebase credential minting,
// SCIM) and App calls (package apps). The WASI build, which has no sockets,
// sets it to the host's HTTP import; native programs leave it nil, and each
// part of the core then uses its usual transport.
package httphook

import "net/http"

// Transport, when not nil, carries every HTTP request the core makes, in
// place of each part's default transport. Set it once, before the core
// makes its first request; the core only reads it. A transport given
// explicitly (apps.WithHTTPClient) still takes precedence.
var Transport http.RoundTripper

// Or returns Transport when it is set, else def.
func Or(def http.RoundTripper) http.RoundTripper {
	if Transport != nil {
		return Transport
	}
	return def
}

// Late is a RoundTripper that sends each request through Or(Default) as it
// is when the request is made: for clients created before a program sets
// Transport, such as package-level variables.
type Late struct {
	// Default is used while Transport is nil.
	Default http.RoundTripper
}

// RoundTrip sends req through Or(l.Default).
func (l Late) RoundTrip(req *http.Request) (*http.Response, error) {
	return Or(l.Default).RoundTrip(req)
}

// Package useragent makes the User-Agent of every HTTP request lakelink
// sends, in the Databricks SDKs' format (databricks-sdk-go's useragent
// package): space-separated key/value pairs, lakelink's own first, then
// those of the binding or program over it, then the request's auth type:
//
//	lakelink/0.1.0 go/1.26.8 os/linux binding/python python/3.11.7 auth/oauth-m2m
package useragent

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strings"

	"github.com/lakelink/lakelink"
)

// product is lakelink's part: its version, Go's and the OS.
var product = fmt.Sprintf("lakelink/%s go/%s os/%s", lakelink.Version(), strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS)

// token is one key or value, as the SDKs allow them (alphanumerics and
// _ . + -, which covers versions such as 3.11.7 or 1.0.0-rc.1).
var token = regexp.MustCompile(`^[0-9A-Za-z_.+-]+$`)

// Check reports whether extra is space-separated key/value pairs that a
// User-Agent may carry after lakelink's own, such as "binding/python
// python/3.11.7", naming the first that is not; "" is fine.
func Check(extra string) error {
	for _, pair := range strings.Fields(extra) {
		k, v, ok := strings.Cut(pair, "/")
		if !ok || !token.MatchString(k) || !token.MatchString(v) {
			return fmt.Errorf("User-Agent part %q: want key/value, each of letters, digits and _ . + - (such as binding/python python/3.11.7)", pair)
		}
	}
	return nil
}

// String is the User-Agent of a request: lakelink's part, extra (already
// checked) and, when authType is not empty, auth/authType.
func String(extra, authType string) string {
	s := product
	if extra = strings.Join(strings.Fields(extra), " "); extra != "" {
		s += " " + extra
	}
	if authType != "" {
		s += " auth/" + authType
	}
	return s
}

type authTypeKey struct{}

// WithAuthType returns ctx, whose requests name authType() (such as
// oauth-m2m; "" for none) in their User-Agent. It is asked at each
// request, so that a token source that learns its type with its first
// token (Databricks unified auth) names it from then on.
func WithAuthType(ctx context.Context, authType func() string) context.Context {
	return context.WithValue(ctx, authTypeKey{}, authType)
}

// AuthType is the auth type that WithAuthType put in ctx, or "".
func AuthType(ctx context.Context) string {
	if f, ok := ctx.Value(authTypeKey{}).(func() string); ok {
		return f()
	}
	return ""
}

// Transport returns base (nil: http.DefaultTransport) sending each
// request with the User-Agent String(extra, AuthType(its context)), in
// place of any the request had (the SDK's, which names no product).
func Transport(base http.RoundTripper, extra string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, extra: extra}
}

type transport struct {
	base  http.RoundTripper
	extra string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context()) // a RoundTripper does not change its request
	out.Header.Set("User-Agent", String(t.extra, AuthType(req.Context())))
	return t.base.RoundTrip(out)
}

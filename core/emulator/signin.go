package emulator

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// SignIn plays the browser at an emulator's authorize endpoint, for tests
// of user login flows: it requests authURL (from GetOAuthAuthorizationUrl,
// `lakelink oauth authorize-url` or any OAuth client) and returns the
// callback URL the emulator redirects to, with its code (or error) and
// state, without following it, so the callback need not listen. The
// emulator signs its user in at once unless it runs with Interactive.
func SignIn(ctx context.Context, authURL string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("emulator: sign-in: %w", err)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, fmt.Errorf("emulator: sign-in: %w", err)
	}
	resp.Body.Close()
	location := resp.Header.Get("Location")
	callback, err := url.Parse(location)
	if resp.StatusCode != http.StatusFound || location == "" || err != nil {
		return nil, fmt.Errorf("emulator: sign-in: the authorize endpoint answered %s, not a redirect to the callback", resp.Status)
	}
	return callback, nil
}

// noRedirects is an HTTP client that returns redirects instead of
// following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

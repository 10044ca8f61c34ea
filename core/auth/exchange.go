package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
)

// Endpoints are an OAuth 2.0 server's authorize and token endpoints, as its
// RFC 8414 metadata document publishes them.
type Endpoints struct {
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
}

// OAuthError is an error response of a token endpoint (RFC 6749 section
// 5.2), with advice on what to do about it.
type OAuthError struct {
	Status      int
	Code        string // invalid_grant, invalid_client, ...
	Description string
	Advice      string
}

func (e *OAuthError) Error() string {
	msg := fmt.Sprintf("token endpoint: %s", e.Code)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Advice != "" {
		msg += " (" + e.Advice + ")"
	}
	return msg
}

// advice says what a user can do about an OAuth error code.
func advice(code string) string {
	switch code {
	case "invalid_grant":
		return "the refresh token or authorization code is no longer valid: refresh tokens work once and codes expire; log in again with `lakelink login`"
	case "invalid_client":
		return "the client was not recognised or its secret is wrong: check OAuthClientId and OAuthClientSecret"
	case "invalid_scope":
		return "a requested scope is not allowed for this client: check Scope"
	case "unauthorized_client":
		return "this client may not use this grant: check AuthScheme and OAuthClientId"
	}
	return ""
}

// transientError marks a failure worth retrying: a network error, a 5xx, a
// 429 or a garbled response.
type transientError struct {
	err        error
	retryAfter time.Duration
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// httpDoer is the part of http.Client the OAuth calls use.
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// retry runs call until it succeeds, fails for good, or the context ends.
// Transient failures are retried with exponential backoff and full jitter
// (100 ms doubling, at most 5 s apart), or after the server's Retry-After.
func retry[T any](ctx context.Context, log *logger, what string, call func(context.Context) (T, error)) (T, error) {
	backoff := 100 * time.Millisecond
	var earlier error // the previous attempt's failure, shown when the Timeout cuts the last one short
	for attempt := 1; ; attempt++ {
		v, err := call(ctx)
		var transient *transientError
		if err == nil || !errors.As(err, &transient) {
			return v, err
		}
		wait := rand.N(backoff) + time.Millisecond
		if transient.retryAfter > 0 {
			wait = transient.retryAfter
		}
		deadline, hasDeadline := ctx.Deadline()
		if ctx.Err() == nil && (!hasDeadline || time.Until(deadline) >= wait) {
			log.info("retrying", "what", what, "attempt", attempt, "wait", wait, "error", transient.err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(wait):
				backoff = min(2*backoff, 5*time.Second)
				earlier = transient.err
				continue
			}
		}
		why := "the Timeout leaves no time for another attempt"
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			why = "the Timeout ran out"
			if earlier != nil && errors.Is(transient.err, context.DeadlineExceeded) {
				// The last attempt says only that time ran out; the one
				// before says why the attempts failed.
				why += "; the attempt before failed: " + earlier.Error()
			}
		case ctx.Err() != nil:
			why = "cancelled"
		}
		return v, fmt.Errorf("%s: gave up after %d attempts (%s): %w", what, attempt, why, transient.err)
	}
}

// discover fetches the endpoints from an RFC 8414 metadata document, once
// per Config while it keeps them.
func (c *Config) discover(ctx context.Context, log *logger, metadataURL string) (*Endpoints, error) {
	if ep, ok := c.discovery.Get(metadataURL); ok {
		return ep, nil
	}
	ep, err := retry(ctx, log, "OAuth discovery", func(ctx context.Context) (*Endpoints, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadataURL, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		log.request(req)
		resp, err := c.client.Do(req)
		if err != nil {
			if hostNotFound(err) {
				return nil, err
			}
			return nil, &transientError{err: err}
		}
		defer resp.Body.Close()
		body, err := readAnswer(resp, metadataURL)
		log.response(resp, body)
		if err != nil {
			return nil, &transientError{err: err}
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, &transientError{err: fmt.Errorf("%s answered %s", metadataURL, resp.Status), retryAfter: retryAfter(resp)}
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %s: is this a Databricks workspace URL (or an OAuth server's metadata URL)?", metadataURL, resp.Status)
		}
		var ep Endpoints
		if err := json.Unmarshal(body, &ep); err != nil {
			return nil, &transientError{err: fmt.Errorf("%s: metadata is not JSON: %v", metadataURL, err)}
		}
		if ep.TokenEndpoint == "" || ep.AuthorizationEndpoint == "" {
			return nil, fmt.Errorf("%s: metadata lacks token_endpoint or authorization_endpoint", metadataURL)
		}
		return &ep, nil
	})
	if err != nil {
		return nil, err
	}
	c.discovery.Add(metadataURL, ep)
	return ep, nil
}

// clientAuth is how a client authenticates at the token endpoint.
type clientAuth struct {
	id, secret string
	basic      bool // HTTP Basic (client_secret_basic), as Databricks expects for secrets
}

// exchange posts a grant to the token endpoint, retrying transient
// failures, and parses the response. A refresh token or code works once, so
// those grants are retried only when the server cannot have received them
// (the connection was never made) or said so (429): a retry after a lost
// answer would spend a token the server has already rotated.
func exchange(ctx context.Context, client httpDoer, log *logger, tokenURL string, form url.Values, ca clientAuth) (*oauth2.Token, error) {
	grant := form.Get("grant_type")
	repeatable := grant == "client_credentials"
	return retry(ctx, log, "token request ("+grant+")", func(ctx context.Context) (*oauth2.Token, error) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if ca.basic {
			f.Del("client_id")
		} else if ca.id != "" {
			f.Set("client_id", ca.id)
			if ca.secret != "" {
				f.Set("client_secret", ca.secret)
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(f.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if ca.basic {
			req.SetBasicAuth(url.QueryEscape(ca.id), url.QueryEscape(ca.secret))
		}
		log.request(req)
		sentAt := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if hostNotFound(err) {
				return nil, err
			}
			if repeatable || neverSent(err) {
				return nil, &transientError{err: err}
			}
			return nil, fmt.Errorf("%w (not retried: the %s grant may have been used already)", err, grant)
		}
		defer resp.Body.Close()
		body, err := readAnswer(resp, "token endpoint")
		log.response(resp, body)
		if err != nil {
			err = &transientError{err: err}
		} else {
			var tok *oauth2.Token
			if tok, err = parseTokenResponse(resp.StatusCode, resp.Header, body, sentAt); err == nil {
				return tok, nil
			}
		}
		var transient *transientError
		if errors.As(err, &transient) && !repeatable && resp.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("%v (not retried: the %s grant may have been used already; if it was, log in again)", transient.err, grant)
		}
		return nil, err
	})
}

// maxAnswer bounds what is read of an OAuth server's answer: none is
// near 1 MiB.
const maxAnswer = 1 << 20

// readAnswer reads a response body of at most maxAnswer bytes; a larger
// one is an error naming who sent it, read no further.
func readAnswer(resp *http.Response, who string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", who, err)
	}
	if len(body) > maxAnswer {
		return nil, fmt.Errorf("%s answered %s with a body larger than 1 MiB, which no OAuth answer is", who, resp.Status)
	}
	return body, nil
}

// hostNotFound reports a host name that does not resolve: no retry helps.
func hostNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// neverSent reports whether a request failed before reaching the server:
// the connection could not be made.
func neverSent(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return (errors.As(err, &opErr) && opErr.Op == "dial") || errors.As(err, &dnsErr)
}

// parseTokenResponse turns a token endpoint's answer to a request sent at
// sentAt into a token, an *OAuthError, or a transient error worth retrying.
func parseTokenResponse(status int, header http.Header, body []byte, sentAt time.Time) (*oauth2.Token, error) {
	if status >= 500 || status == http.StatusTooManyRequests {
		return nil, &transientError{err: fmt.Errorf("token endpoint answered %d %s", status, http.StatusText(status)),
			retryAfter: retryAfter(&http.Response{Header: header})}
	}
	if ct, _, _ := mime.ParseMediaType(header.Get("Content-Type")); status == http.StatusOK && ct != "" && ct != "application/json" {
		return nil, &transientError{err: fmt.Errorf("token endpoint answered with %s, not JSON", ct)}
	}
	var r struct {
		AccessToken      string          `json:"access_token"`
		TokenType        string          `json:"token_type"`
		RefreshToken     string          `json:"refresh_token"`
		ExpiresIn        json.RawMessage `json:"expires_in"`
		Scope            string          `json:"scope"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		if status != http.StatusOK {
			return nil, &OAuthError{Status: status, Code: "http_" + strconv.Itoa(status), Description: "the response is not an OAuth error document"}
		}
		return nil, &transientError{err: errors.New("token endpoint answered with malformed JSON")}
	}
	if r.Error != "" || status != http.StatusOK {
		code := r.Error
		if code == "" {
			code = "http_" + strconv.Itoa(status)
		}
		return nil, &OAuthError{Status: status, Code: code, Description: r.ErrorDescription, Advice: advice(code)}
	}
	if r.AccessToken == "" {
		return nil, errors.New("token endpoint answered without an access_token")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "Bearer") {
		return nil, fmt.Errorf("token endpoint answered with token_type %q; lakelink uses Bearer tokens", r.TokenType)
	}
	tok := &oauth2.Token{AccessToken: r.AccessToken, TokenType: "Bearer", RefreshToken: r.RefreshToken}
	if len(r.ExpiresIn) > 0 && string(r.ExpiresIn) != "null" {
		// Some servers send expires_in as a string; RFC 6749 says number.
		secs, err := strconv.ParseInt(strings.Trim(string(r.ExpiresIn), `"`), 10, 64)
		if err != nil || secs < 0 {
			return nil, fmt.Errorf("token endpoint answered with an invalid expires_in")
		}
		// The server counted expires_in from when it answered, after
		// sentAt, so sentAt + expires_in is not late whatever the clocks
		// say (a JWT's exp would depend on the server's clock agreeing
		// with ours). Less a second, for a server that rounds its exp
		// down to whole seconds and refuses the token by it.
		tok.Expiry = sentAt.Add(time.Duration(secs)*time.Second - time.Second)
		tok.ExpiresIn = secs
	}
	return tok.WithExtra(map[string]any{"scope": r.Scope}), nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Discover is the default configuration's Config.Discover.
func Discover(ctx context.Context, o *connstr.Options) (*Endpoints, string, error) {
	return (*Config)(nil).Discover(ctx, o)
}

// Discover returns the OAuth endpoints of the options' workspace (or
// DiscoveryURL), and the metadata URL they were read from.
func (c *Config) Discover(ctx context.Context, o *connstr.Options) (*Endpoints, string, error) {
	c = c.use()
	metadata, err := metadataURL(o)
	if err != nil {
		return nil, "", err
	}
	log, err := newLogger(o)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(o))
	defer cancel()
	ep, err := c.discover(ctx, log, metadata)
	return ep, metadata, err
}

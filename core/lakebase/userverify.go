package lakebase

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/cache"
)

// How many verified App user tokens a pool remembers (at least; twice
// MaxUsers when that is more), and for how long a token without an expiry
// (not a JWT) is trusted after its verification.
const (
	maxVerifiedTokens  = 1000
	trustWithoutExpiry = 5 * time.Minute
)

// tokenVerifier learns whose App user tokens are, from the workspace,
// once per token: the answer is kept, by the token's SHA-256, until the
// token expires. A token the workspace does not accept is not kept.
type tokenVerifier struct {
	config   *Config
	opts     *connstr.Options // the pool's: its workspace is asked
	verified *cache.Cache[[sha256.Size]byte, verifiedToken]
	asking   singleflight.Group // one question per token at a time
}

// verifiedToken is whose a token is, and until when that holds.
type verifiedToken struct {
	principal string    // the SCIM userName: the Postgres user
	expiry    time.Time // the token's own (exp), zero when it has none
	until     time.Time // when to ask again: expiry, or trustWithoutExpiry after asking
}

// newTokenVerifier returns the verifier of a pool connected with o, which
// remembers size tokens and forgets one unused for idle.
func newTokenVerifier(c *Config, o *connstr.Options, size int, idle time.Duration) *tokenVerifier {
	return &tokenVerifier{config: c, opts: o, verified: cache.New[[sha256.Size]byte, verifiedToken](size, idle, nil)}
}

// UserTokenError is an App user's access token that Pool.AsUser cannot
// use: it has not the shape of one bearer token (empty, too long, a list,
// "Bearer " before it: Err wraps auth.CheckBearerToken's
// *auth.BearerTokenError), it expired, the workspace did not accept it, or
// the workspace could not be asked. Its text never contains the token.
type UserTokenError struct {
	Err error
}

func (e *UserTokenError) Error() string { return e.Err.Error() }

func (e *UserTokenError) Unwrap() error { return e.Err }

// verify returns whose token is. Its errors (*UserTokenError, or the
// pool's own, such as a workspace it cannot name) say what is wrong
// without the token.
func (v *tokenVerifier) verify(ctx context.Context, token string) (verifiedToken, error) {
	if err := auth.CheckBearerToken(token); err != nil {
		return verifiedToken{}, &UserTokenError{Err: fmt.Errorf("lakebase: the App user's access token: %w", err)}
	}
	key := sha256.Sum256([]byte(token))
	if got, ok := v.verified.Get(key); ok {
		if time.Now().Before(got.until) {
			return got, nil
		}
		v.verified.Remove(key)
	}
	answer := v.asking.DoChan(string(key[:]), func() (any, error) {
		got, err := v.ask(token)
		if err == nil {
			v.verified.Add(key, got)
		}
		return got, err
	})
	select {
	case a := <-answer:
		got, _ := a.Val.(verifiedToken)
		return got, a.Err
	case <-ctx.Done():
		return verifiedToken{}, ctx.Err()
	}
}

// ask asks the pool's workspace whose token is (SCIM Me), within the
// pool's Timeout, whoever waits for the answer.
func (v *tokenVerifier) ask(token string) (verifiedToken, error) {
	now := time.Now()
	expiry := auth.Describe(token).ExpiresAt
	if !expiry.IsZero() && !now.Before(expiry) {
		return verifiedToken{}, &UserTokenError{Err: fmt.Errorf("lakebase: the App user's access token expired at %s: "+
			"take the token from each request (X-Forwarded-Access-Token), rather than keeping one", expiry.UTC().Format(time.RFC3339))}
	}
	w, err := v.config.workspace(v.opts)
	if err != nil {
		return verifiedToken{}, fmt.Errorf("lakebase: cannot verify an App user's access token: %w", err)
	}
	host := auth.WorkspaceURL(w)
	api, err := tokenWorkspaceAPIs(host, token, v.config.httpTransport())
	if err != nil {
		return verifiedToken{}, &UserTokenError{Err: scrubbed(err, token)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeoutOf(v.opts))
	defer cancel()
	name, err := api.userName(ctx)
	if err == nil && name == "" {
		err = errors.New("SCIM Me: no userName")
	}
	var apiErr *auth.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
		return verifiedToken{}, &UserTokenError{Err: scrubbed(fmt.Errorf("lakebase: the workspace %s did not accept the App user's access token (%w): "+
			"the token may be of another workspace, expired or revoked, or lack the scope iam.current-user:read "+
			"(which Databricks gives every App user's token)", host, err), token)}
	case err != nil:
		return verifiedToken{}, &UserTokenError{Err: scrubbed(fmt.Errorf("lakebase: cannot verify the App user's access token with the workspace %s: %w", host, err), token)}
	}
	until := expiry
	if until.IsZero() {
		until = now.Add(trustWithoutExpiry)
	}
	return verifiedToken{principal: name, expiry: expiry, until: until}, nil
}

// scrubbed is err, or, should its text contain token, an error without it.
func scrubbed(err error, token string) error {
	if msg := err.Error(); strings.Contains(msg, token) {
		return fmt.Errorf("%s", strings.ReplaceAll(msg, token, "[REDACTED]"))
	}
	return err
}

// close forgets every verified token.
func (v *tokenVerifier) close() { v.verified.Close() }

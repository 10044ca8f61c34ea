package lakebase

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// credential is the Postgres password of one identity for one database:
// minted, cached, renewed ahead of expiry, one renewal in flight at a time.
// Every pool of the process connecting as that identity shares it.
type credential struct {
	what      string // for messages: "a Lakebase credential for instance X"
	renewable bool
	// workspaceToken: the password is the workspace OAuth token itself,
	// which opens the whole workspace API, not a credential minted for
	// one database.
	workspaceToken bool
	// mint gets a password; refused, when not empty, is one the server
	// refused, which mint must not return again.
	mint func(ctx context.Context, refused string) (string, time.Time, error)

	mu       sync.Mutex
	password string
	expiry   time.Time
	fetched  time.Time
}

// get returns the current password, renewing it when it is near expiry,
// and when it expires (zero when unknown).
func (c *credential) get(ctx context.Context) (string, time.Time, error) { return c.fetch(ctx, "") }

// renew returns a password other than refused, one a login was refused
// with (28P01): a new one if refused is still the current one, else the
// current one, which another caller renewed meanwhile. Logins refused
// together so renew once.
func (c *credential) renew(ctx context.Context, refused string) (string, error) {
	password, _, err := c.fetch(ctx, refused)
	return password, err
}

func (c *credential) fetch(ctx context.Context, refused string) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	force := refused != "" && refused == c.password
	if c.password != "" && !force && !auth.NeedsRenewal(c.expiry, c.fetched, now) {
		return c.password, c.expiry, nil
	}
	if c.password != "" && !c.renewable {
		if force || (!c.expiry.IsZero() && !now.Before(c.expiry)) {
			return "", time.Time{}, fmt.Errorf("%s cannot be renewed", c.what)
		}
		return c.password, c.expiry, nil
	}
	if !force {
		refused = ""
	}
	password, expiry, err := c.mint(ctx, refused)
	if err != nil {
		if c.password != "" && now.Before(c.expiry) && !force { // renewing early failed; the old one still works
			return c.password, c.expiry, nil
		}
		if !c.expiry.IsZero() {
			return "", time.Time{}, fmt.Errorf("%s expired at %s and could not be renewed: %w", c.what, c.expiry.Format(time.RFC3339), err)
		}
		return "", time.Time{}, fmt.Errorf("minting %s: %w", c.what, err)
	}
	c.password, c.expiry, c.fetched = password, expiry, now
	return password, expiry, nil
}

// identity is what the credentials of one workspace identity share: its
// token source, the SDK APIs it calls with it, its principal, and its
// credentials, one per target (an instance, an endpoint, or the workspace
// token itself).
type identity struct {
	tokens *auth.Source
	api    workspaceAPIs

	mu        sync.Mutex // held while finding the principal
	principal string

	credMu      sync.Mutex
	credentials []keyedCredential // most recently used last, at most maxTargets
}

// keyedCredential is a credential and what it opens: "instance/NAME",
// "endpoint/NAME" or "workspace-token".
type keyedCredential struct {
	key  string
	cred *credential
}

// maxTargets bounds the credentials an identity keeps, least recently used
// dropped first: one per instance or endpoint it connects to, a handful.
const maxTargets = 16

// identityFor returns the shared identity of the options' token source, in
// the workspace that workspace(o) names.
func (c *Config) identityFor(o *connstr.Options) (*identity, error) {
	c = c.use()
	w, err := c.workspace(o)
	if err != nil {
		return nil, err
	}
	tokens, err := c.Auth.NewTokenSource(w)
	if err != nil {
		return nil, err
	}
	return c.identities.GetOrAdd(tokens, func() (*identity, error) {
		api, err := newWorkspaceAPIs(auth.WorkspaceURL(w), tokens, c.httpTransport())
		if err != nil {
			return nil, err
		}
		return &identity{tokens: tokens, api: api}, nil
	})
}

// principalName is the Postgres user the identity logs in as: the SCIM
// userName (a user's email, a service principal's application id), or,
// when the token may not read SCIM, the token's own subject.
func (id *identity) principalName(ctx context.Context) (string, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.principal != "" {
		return id.principal, nil
	}
	name, err := id.api.userName(ctx)
	if err == nil && name != "" {
		id.principal = name
		return id.principal, nil
	}
	tok, tokErr := id.tokens.TokenContext(ctx)
	if tokErr != nil {
		return "", tokErr
	}
	if sub := auth.Describe(tok.AccessToken).Principal; sub != "" {
		id.principal = sub
		return sub, nil
	}
	return "", fmt.Errorf("cannot tell which Postgres user this token belongs to (%v): give User", err)
}

// credentialFor returns the password source the options describe:
// Password as given; a credential minted for Instance (Lakebase
// Provisioned) or Endpoint (Lakebase Autoscaling); or else the workspace
// access token itself.
func (c *Config) credentialFor(o *connstr.Options, id *identity) *credential {
	var key string
	var cred *credential
	switch {
	case o.Instance != "":
		key = "instance/" + o.Instance
		cred = &credential{what: "the Lakebase credential for instance " + o.Instance, renewable: true,
			mint: func(ctx context.Context, _ string) (string, time.Time, error) { // each is new
				return id.api.instanceCredential(ctx, o.Instance)
			}}
	case o.Endpoint != "":
		key = "endpoint/" + o.Endpoint
		cred = &credential{what: "the Lakebase credential for endpoint " + o.Endpoint, renewable: true,
			mint: func(ctx context.Context, _ string) (string, time.Time, error) { // each is new
				return id.api.endpointCredential(ctx, o.Endpoint)
			}}
	default:
		key = "workspace-token"
		cred = &credential{what: "the workspace OAuth token used as password", renewable: id.tokens.CanRefresh(), workspaceToken: true,
			mint: func(ctx context.Context, refused string) (string, time.Time, error) {
				var tok *oauth2.Token
				var err error
				if refused == "" {
					tok, err = id.tokens.TokenContext(ctx)
				} else {
					tok, err = id.tokens.Renew(ctx, refused)
				}
				if err != nil {
					return "", time.Time{}, err
				}
				return tok.AccessToken, tok.Expiry, nil
			}}
	}
	return id.credential(key, cred)
}

// credential returns the identity's credential for key, or keeps cred as
// that.
func (id *identity) credential(key string, cred *credential) *credential {
	id.credMu.Lock()
	defer id.credMu.Unlock()
	for i, t := range id.credentials {
		if t.key == key { // most recently used last
			id.credentials = append(slices.Delete(id.credentials, i, i+1), t)
			return t.cred
		}
	}
	id.credentials = append(id.credentials, keyedCredential{key, cred})
	if len(id.credentials) > maxTargets {
		id.credentials = slices.Delete(id.credentials, 0, len(id.credentials)-maxTargets)
	}
	return cred
}

// staticPassword serves AuthScheme=Password.
func staticPassword(password string) *credential {
	return &credential{what: "the Password given", password: password}
}

// instanceCredential is a Provisioned instance credential's token and
// expiry, from the credentials API's token and expiration_time (RFC 3339).
func instanceCredential(token, expirationTime string) (string, time.Time, error) {
	expiry, err := time.Parse(time.RFC3339, expirationTime)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("the credential's expiration_time %q is not RFC 3339", expirationTime)
	}
	return token, expiry, nil
}

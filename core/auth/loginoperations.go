package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
)

// storedFlow is the user flow of the options with its token store and the
// identity's key in it: what the stored-login operations work on.
func (c *Config) storedFlow(o *connstr.Options) (*userFlow, *logger, Store, string, error) {
	f, log, err := c.procedureFlow(o, "")
	if err != nil {
		return nil, nil, nil, "", err
	}
	store, err := c.OpenStore(o.OAuthSettingsLocation)
	if err != nil {
		return nil, nil, nil, "", err
	}
	return f, log, store, f.storeKey(), nil
}

// Login runs the desktop flow (browser and loopback callback) for the
// options' user login and stores the tokens, replacing any stored before.
// When they cannot be stored it returns them with a *NotSavedError, so
// that the caller can hand them to the user.
func (c *Config) Login(ctx context.Context, o *connstr.Options) (*OAuthTokens, string, error) {
	c = c.use()
	f, log, store, key, err := c.storedFlow(o)
	if err != nil {
		return nil, "", err
	}
	tok, err := f.login(ctx, log, "")
	if err != nil {
		return nil, "", err
	}
	lockCtx, cancel := context.WithTimeout(ctx, timeout(o))
	defer cancel()
	return tokensOf(tok), store.Location(), store.Save(lockCtx, key, storedFrom(tok, nil))
}

// StartHeadless begins the headless flow: it returns the URL to open on
// another device and keeps the PKCE verifier in the store, pending, until
// FinishHeadless (or a connection with OAuthVerifier) brings the code.
func (c *Config) StartHeadless(ctx context.Context, o *connstr.Options) (*AuthorizationURL, error) {
	c = c.use()
	f, _, store, key, err := c.storedFlow(o)
	if err != nil {
		return nil, err
	}
	a, err := c.GetOAuthAuthorizationURL(ctx, o, "", "", "")
	if err != nil {
		return nil, err
	}
	pending := &PendingAuthorization{CodeVerifier: a.PKCEVerifier, RedirectURI: f.redirectURI(), State: a.State, Created: time.Now()}
	err = f.update(ctx, store, key, func(cur *StoredToken) (*StoredToken, error) {
		if cur == nil {
			cur = &StoredToken{}
		}
		cur.Pending = pending
		return cur, nil
	})
	return a, err
}

// FinishHeadless exchanges the code of the pending authorization (the code,
// or the whole callback URL the browser ended at) and stores the tokens.
// The code is redeemed only once the store can take the tokens; when they
// still cannot be put in place, they come with a *NotSavedError.
func (c *Config) FinishHeadless(ctx context.Context, o *connstr.Options, code string) (*OAuthTokens, string, error) {
	c = c.use()
	with := *o
	with.OAuthVerifier = code
	f, log, store, key, err := c.storedFlow(&with)
	if err != nil {
		return nil, "", err
	}
	var tok *oauth2.Token
	err = f.update(ctx, store, key, func(cur *StoredToken) (*StoredToken, error) { // the code is redeemed once the store can take the tokens
		if tok, err = f.redeemVerifier(ctx, log, cur); err != nil {
			return nil, err
		}
		return storedFrom(tok, nil), nil
	})
	return obtained(tok, store, err)
}

// obtained is the outcome of an update that may have obtained tok: the
// tokens also when they could not be saved (the error is then a
// *NotSavedError), for the caller to hand to the user.
func obtained(tok *oauth2.Token, store Store, err error) (*OAuthTokens, string, error) {
	var notSaved *NotSavedError
	if err != nil && !errors.As(err, &notSaved) {
		return nil, "", err
	}
	return tokensOf(tok), store.Location(), err
}

// RefreshStored redeems the stored refresh token now and stores the result.
// When the result cannot be stored, it comes with a *NotSavedError: the
// stored refresh token no longer works, the returned one does.
func (c *Config) RefreshStored(ctx context.Context, o *connstr.Options) (*OAuthTokens, string, error) {
	c = c.use()
	f, log, store, key, err := c.storedFlow(o)
	if err != nil {
		return nil, "", err
	}
	var tok *oauth2.Token
	err = f.update(ctx, store, key, func(cur *StoredToken) (*StoredToken, error) {
		if cur == nil || cur.RefreshToken == "" {
			return nil, fmt.Errorf("no refresh token stored for %s (client %s, scopes %s) in %s: log in with `lakelink login`",
				hostOf(o), f.clientID, strings.Join(f.scopes, " "), store.Location())
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		if tok, err = f.refresh(ctx, log, cur.RefreshToken); err != nil {
			return nil, err
		}
		return storedFrom(tok, cur), nil
	})
	return obtained(tok, store, err)
}

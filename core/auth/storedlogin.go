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

// userSource serves AuthScheme=OAuthPKCE per InitiateOAuth (default
// GETANDREFRESH): tokens live in the store at OAuthSettingsLocation, keyed
// by host, client and scopes; renewals happen under the store's lock.
func (c *Config) userSource(o *connstr.Options) (*Source, error) {
	f, err := c.newUserFlow(o)
	if err != nil {
		return nil, err
	}
	initiate := o.InitiateOAuth
	if initiate == "" {
		initiate = connstr.InitiateGetAndRefresh
	}
	s := &Source{identity: fmt.Sprintf("user login (client %s, scopes %s) at %s", f.clientID, strings.Join(f.scopes, " "), hostOf(o)),
		refreshable: initiate != connstr.InitiateOff}
	s.setAuthType("oauth-u2m")
	if initiate == connstr.InitiateOff {
		s.fetch = func(_ context.Context, refused string) (*oauth2.Token, error) {
			if refused != "" {
				return nil, errors.New("OAuthAccessToken was refused, and InitiateOAuth=OFF never refreshes: give a new token")
			}
			return givenAccessToken(o)
		}
		return s, nil
	}
	store, err := c.OpenStore(o.OAuthSettingsLocation)
	if err != nil {
		return nil, err
	}
	login := &storedLogin{flow: f, store: store, key: f.storeKey(), initiate: initiate}
	s.fetch = func(ctx context.Context, refused string) (*oauth2.Token, error) {
		return login.token(ctx, s.log, refused)
	}
	return s, nil
}

// givenAccessToken is OAuthAccessToken as given (InitiateOAuth=OFF).
func givenAccessToken(o *connstr.Options) (*oauth2.Token, error) {
	if o.OAuthAccessToken == "" {
		return nil, errors.New("InitiateOAuth=OFF uses OAuthAccessToken as given, and none is given")
	}
	tok := &oauth2.Token{AccessToken: o.OAuthAccessToken, TokenType: "Bearer", Expiry: givenExpiry(o)}
	if !tok.Expiry.IsZero() && !time.Now().Before(tok.Expiry) {
		return nil, fmt.Errorf("OAuthAccessToken expired at %s, and InitiateOAuth=OFF never refreshes: give a new token, "+
			"or use InitiateOAuth=REFRESH with OAuthRefreshToken", tok.Expiry.Format(time.RFC3339))
	}
	return tok, nil
}

// givenExpiry is when OAuthAccessToken expires: OAuthTokenTimestamp (or
// now) plus OAuthExpiresIn when given, else the token's own exp claim.
func givenExpiry(o *connstr.Options) time.Time {
	if o.OAuthExpiresIn <= 0 {
		return jwtExpiry(o.OAuthAccessToken)
	}
	issued := time.Now()
	if o.OAuthTokenTimestamp > 0 {
		issued = time.UnixMilli(o.OAuthTokenTimestamp)
	}
	return issued.Add(time.Duration(o.OAuthExpiresIn) * time.Second)
}

// storedLogin is a user login kept in a token store, as a Source uses it
// (one fetch at a time).
type storedLogin struct {
	flow     *userFlow
	store    Store
	key      string
	initiate connstr.InitiateOAuth
}

// token returns the stored token, first obtaining one when none is stored
// (from OAuthVerifier, from the tokens in the connection string, or with
// GETANDREFRESH by a browser login), and renewing it near expiry or when it
// is refused (a server refused that token).
func (l *storedLogin) token(ctx context.Context, log *logger, refused string) (*oauth2.Token, error) {
	f := l.flow
	entry, err := l.store.Load(l.key)
	if err != nil {
		return nil, err
	}
	if entry == nil || (entry.AccessToken == "" && entry.RefreshToken == "") {
		if entry, err = l.first(ctx, log); err != nil {
			return nil, err
		}
	}
	usable := func(e *StoredToken) bool {
		return e.AccessToken != "" && e.AccessToken != refused && !NeedsRenewal(e.Expiry, e.UpdatedAt, time.Now())
	}
	if usable(entry) {
		return entryToken(entry), nil
	}
	var renewed *StoredToken
	refresh := func(from *StoredToken) (*StoredToken, error) {
		if from == nil || from.RefreshToken == "" {
			return nil, fmt.Errorf("the stored access token for %s expired and there is no refresh token "+
				"(was offline_access in Scope?): log in again with `lakelink login`", hostOf(f.o))
		}
		tctx, cancel := context.WithTimeout(ctx, timeout(f.o))
		defer cancel()
		tok, err := f.refresh(tctx, log, from.RefreshToken)
		if err != nil {
			return nil, err
		}
		renewed = storedFrom(tok, from)
		log.info("refreshed the stored token", "store", l.store.Location())
		return renewed, nil
	}
	ran := false
	err = f.update(ctx, l.store, l.key, func(cur *StoredToken) (*StoredToken, error) {
		ran = true
		if cur != nil && usable(cur) { // another connection renewed it while this one waited
			renewed = cur
			return cur, nil
		}
		return refresh(cur)
	})
	if err != nil && !ran {
		err = fmt.Errorf("the token was not renewed (its refresh token is unused): %w", err)
	}
	var oauthErr *OAuthError
	if errors.As(err, &oauthErr) && oauthErr.Code == "invalid_grant" && l.initiate == connstr.InitiateGetAndRefresh {
		log.info("the refresh token was refused; logging in again")
		tok, err := f.login(ctx, log, "")
		if err != nil {
			return nil, err
		}
		return l.save(ctx, log, storedFrom(tok, nil))
	}
	return l.kept(log, renewed, err)
}

// first obtains the identity's first tokens and stores them: from
// OAuthVerifier, redeemed under the store's lock once the store can take
// the tokens, else from the connection string or a browser login, saved
// after (kept for this process if the store cannot take them).
func (l *storedLogin) first(ctx context.Context, log *logger) (*StoredToken, error) {
	f := l.flow
	if f.o.OAuthVerifier == "" {
		tok, err := f.firstToken(ctx, log, l.initiate, l.store.Location())
		if err != nil {
			return nil, err
		}
		entry := storedFrom(tok, nil)
		_, err = l.save(ctx, log, entry)
		return entry, err
	}
	var entry *StoredToken
	ran := false
	err := f.update(ctx, l.store, l.key, func(cur *StoredToken) (*StoredToken, error) {
		ran = true
		if cur != nil && (cur.AccessToken != "" || cur.RefreshToken != "") { // another connection completed it
			entry = cur
			return cur, nil
		}
		tok, err := f.redeemVerifier(ctx, log, cur)
		if err != nil {
			return nil, err
		}
		entry = storedFrom(tok, nil)
		return entry, nil
	})
	if err != nil && !ran {
		err = fmt.Errorf("the OAuthVerifier code was not redeemed: %w", err)
	}
	if _, err := l.kept(log, entry, err); err != nil {
		return nil, err
	}
	return entry, nil
}

// save stores entry, tokens just obtained, and returns its token, also
// when the store cannot take it (see kept).
func (l *storedLogin) save(ctx context.Context, log *logger, entry *StoredToken) (*oauth2.Token, error) {
	lockCtx, cancel := context.WithTimeout(ctx, timeout(l.flow.o))
	defer cancel()
	return l.kept(log, entry, l.store.Save(lockCtx, l.key, entry))
}

// kept is the outcome of storing entry, tokens obtained: its token, also
// when the store could not save it; the store then keeps it for this
// process, which says so in its log (other processes do not have it).
func (l *storedLogin) kept(log *logger, entry *StoredToken, err error) (*oauth2.Token, error) {
	var notSaved *NotSavedError
	switch {
	case errors.As(err, &notSaved):
		log.error("tokens not saved: this process keeps using them and saves them at its next write of the store; until then other processes and the next run do not have them",
			"store", notSaved.Location, "error", notSaved.Err.Error())
	case err != nil:
		return nil, err
	}
	return entryToken(entry), nil
}

// update is store.Update with the wait for the store's lock bounded by
// the connection's Timeout.
func (f *userFlow) update(ctx context.Context, store Store, key string, fn func(*StoredToken) (*StoredToken, error)) error {
	lockCtx, cancel := context.WithTimeout(ctx, timeout(f.o))
	defer cancel()
	return store.Update(lockCtx, key, fn)
}

// firstToken obtains the first token of an identity, stored in location,
// without OAuthVerifier (see storedLogin.first).
func (f *userFlow) firstToken(ctx context.Context, log *logger, initiate connstr.InitiateOAuth, location string) (*oauth2.Token, error) {
	var tok *oauth2.Token
	var err error
	switch {
	case f.o.OAuthAccessToken != "" || f.o.OAuthRefreshToken != "":
		tok = &oauth2.Token{AccessToken: f.o.OAuthAccessToken, RefreshToken: f.o.OAuthRefreshToken, Expiry: givenExpiry(f.o)}
		if tok.Expiry.IsZero() && tok.RefreshToken != "" { // unknown expiry: renew at once rather than trust it
			tok.Expiry = time.Now()
		}
	case initiate == connstr.InitiateGetAndRefresh:
		tok, err = f.login(ctx, log, "")
	default:
		return nil, fmt.Errorf("InitiateOAuth=REFRESH: no token stored for %s (client %s, scopes %s) in %s: "+
			"log in with `lakelink login`, give OAuthRefreshToken, or use InitiateOAuth=GETANDREFRESH",
			hostOf(f.o), f.clientID, strings.Join(f.scopes, " "), location)
	}
	return tok, err
}

// redeemVerifier completes the headless flow: the authorization was
// started elsewhere (its PKCE verifier stored as pending) and the code,
// or the whole callback URL, brought here as OAuthVerifier.
func (f *userFlow) redeemVerifier(ctx context.Context, log *logger, entry *StoredToken) (*oauth2.Token, error) {
	if entry == nil || entry.Pending == nil {
		return nil, errors.New("OAuthVerifier is given but no authorization was started with the same Host, " +
			"OAuthClientId, Scope and OAuthSettingsLocation: run `lakelink oauth authorize-url` first")
	}
	code, err := codeOfVerifier(f.o.OAuthVerifier, entry.Pending.State)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(f.o))
	defer cancel()
	return f.redeemCode(ctx, log, code, entry.Pending.CodeVerifier, entry.Pending.RedirectURI)
}

func storedFrom(tok *oauth2.Token, previous *StoredToken) *StoredToken {
	s := &StoredToken{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, UpdatedAt: time.Now()}
	if scope, _ := tok.Extra("scope").(string); scope != "" {
		s.Scopes = strings.Fields(scope)
	}
	if previous != nil && s.RefreshToken == "" { // the server did not rotate it
		s.RefreshToken = previous.RefreshToken
	}
	return s
}

func entryToken(e *StoredToken) *oauth2.Token {
	return &oauth2.Token{AccessToken: e.AccessToken, TokenType: "Bearer", RefreshToken: e.RefreshToken, Expiry: e.Expiry}
}

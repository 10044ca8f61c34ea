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

// The OAuth procedures, with the names and semantics of the CData
// connectors': a program (a web app, say) can run the authorization-code
// flow itself across requests, with no lakelink state kept in between.

// AuthorizationURL is the result of GetOAuthAuthorizationURL. The caller
// keeps State and PKCEVerifier (in its session) until the callback.
type AuthorizationURL struct {
	URL          string
	State        string
	PKCEVerifier string
}

// String shows the URL and state, never the PKCE verifier.
func (a AuthorizationURL) String() string {
	return fmt.Sprintf("AuthorizationURL{URL: %s, State: %s, PKCEVerifier: ***}", a.URL, a.State)
}

// GoString is String, so that %#v hides the verifier too.
func (a AuthorizationURL) GoString() string { return a.String() }

// OAuthTokens is the result of GetOAuthAccessToken and
// RefreshOAuthAccessToken.
type OAuthTokens struct {
	OAuthAccessToken  string
	OAuthRefreshToken string
	ExpiresIn         int64 // seconds
	Scope             string
}

// String shows the expiry and scope, never a token.
func (t OAuthTokens) String() string {
	return fmt.Sprintf("OAuthTokens{OAuthAccessToken: ***, OAuthRefreshToken: ***, ExpiresIn: %d, Scope: %s}", t.ExpiresIn, t.Scope)
}

// GoString is String, so that %#v hides the tokens too.
func (t OAuthTokens) GoString() string { return t.String() }

// AuthMode selects how GetOAuthAccessToken obtains the code.
type AuthMode string

const (
	// AuthModeWeb exchanges a code the caller received at its own callback.
	AuthModeWeb AuthMode = "WEB"
	// AuthModeApp runs the desktop flow: browser and loopback callback.
	AuthModeApp AuthMode = "APP"
)

// GetOAuthAuthorizationURL returns the URL to send a user to, for the
// options' workspace, client (default databricks-cli) and scopes. Empty
// callbackURL, scope and state default to the options' CallbackURL (or
// DefaultCallbackURL), Scope (or DefaultUserScopes) and a random state.
func GetOAuthAuthorizationURL(ctx context.Context, o *connstr.Options, callbackURL, scope, state string) (*AuthorizationURL, error) {
	f, log, err := procedureFlow(o, scope)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(o))
	defer cancel()
	ep, err := f.endpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	if callbackURL == "" {
		callbackURL = f.redirectURI()
	}
	if state == "" {
		state = newState()
	}
	verifier := oauth2.GenerateVerifier()
	return &AuthorizationURL{URL: f.authorizationURL(ep, callbackURL, state, verifier), State: state, PKCEVerifier: verifier}, nil
}

// GetOAuthAccessToken completes an authorization. With AuthModeWeb it
// exchanges verifier (the code from the callback; the caller has checked
// the callback's state) using the pkceVerifier and callbackURL of
// GetOAuthAuthorizationURL. With AuthModeApp it runs the desktop flow,
// with state as the request's state when given.
func GetOAuthAccessToken(ctx context.Context, o *connstr.Options, verifier string, mode AuthMode, callbackURL, state, pkceVerifier string) (*OAuthTokens, error) {
	f, log, err := procedureFlow(o, "")
	if err != nil {
		return nil, err
	}
	var tok *oauth2.Token
	switch AuthMode(strings.ToUpper(string(mode))) {
	case AuthModeWeb, "":
		if verifier == "" || pkceVerifier == "" {
			return nil, errors.New("GetOAuthAccessToken with AuthMode=WEB needs Verifier (the code from the callback) and PKCEVerifier")
		}
		if callbackURL == "" {
			callbackURL = f.redirectURI()
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		tok, err = f.redeemCode(ctx, log, verifier, pkceVerifier, callbackURL)
	case AuthModeApp:
		if callbackURL != "" {
			f.callbackURL = callbackURL
		}
		tok, err = f.login(ctx, log, state)
	default:
		return nil, fmt.Errorf("AuthMode %q: want WEB or APP", mode)
	}
	if err != nil {
		return nil, err
	}
	return tokensOf(tok), nil
}

// RefreshOAuthAccessToken redeems a refresh token (OAuthRefreshToken from
// the options when refreshToken is empty). Databricks rotates refresh
// tokens: keep the new one, the old one no longer works.
func RefreshOAuthAccessToken(ctx context.Context, o *connstr.Options, refreshToken string) (*OAuthTokens, error) {
	f, log, err := procedureFlow(o, "")
	if err != nil {
		return nil, err
	}
	if refreshToken == "" {
		refreshToken = o.OAuthRefreshToken
	}
	if refreshToken == "" {
		return nil, errors.New("RefreshOAuthAccessToken needs OAuthRefreshToken")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(o))
	defer cancel()
	tok, err := f.refresh(ctx, log, refreshToken)
	if err != nil {
		return nil, err
	}
	return tokensOf(tok), nil
}

// procedureFlow is the user flow of a procedure call. A scope given to the
// procedure is used exactly as given (a web app may not want refresh
// tokens); otherwise the options' scopes, as a stored login uses them.
func procedureFlow(o *connstr.Options, scope string) (*userFlow, *logger, error) {
	f, err := newUserFlow(o)
	if err != nil {
		return nil, nil, err
	}
	if scope != "" {
		f.scopes = (&connstr.Options{Scope: scope}).Scopes()
	}
	log, err := newLogger(o)
	return f, log, err
}

func tokensOf(tok *oauth2.Token) *OAuthTokens {
	t := &OAuthTokens{OAuthAccessToken: tok.AccessToken, OAuthRefreshToken: tok.RefreshToken}
	if !tok.Expiry.IsZero() {
		t.ExpiresIn = int64(time.Until(tok.Expiry).Round(time.Second) / time.Second)
	}
	t.Scope, _ = tok.Extra("scope").(string)
	return t
}

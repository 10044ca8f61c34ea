package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
func (c *Config) GetOAuthAuthorizationURL(ctx context.Context, o *connstr.Options, callbackURL, scope, state string) (*AuthorizationURL, error) {
	c = c.use()
	f, log, err := c.procedureFlow(o, scope)
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
// exchanges verifier (the code from the callback, or the whole callback
// URL, whose state must be state when state is given) using the
// pkceVerifier and callbackURL of GetOAuthAuthorizationURL. With
// AuthModeApp it runs the desktop flow, with state as the request's state
// when given.
func (c *Config) GetOAuthAccessToken(ctx context.Context, o *connstr.Options, verifier string, mode AuthMode, callbackURL, state, pkceVerifier string) (*OAuthTokens, error) {
	c = c.use()
	f, log, err := c.procedureFlow(o, "")
	if err != nil {
		return nil, err
	}
	var tok *oauth2.Token
	switch AuthMode(strings.ToUpper(string(mode))) {
	case AuthModeWeb, "":
		if verifier == "" || pkceVerifier == "" {
			return nil, errors.New("GetOAuthAccessToken with AuthMode=WEB needs Verifier (the code from the callback, or the whole callback URL) and PKCEVerifier")
		}
		var code string
		if code, err = codeOfVerifier(verifier, state); err != nil {
			return nil, err
		}
		if callbackURL == "" {
			callbackURL = f.redirectURI()
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(o))
		defer cancel()
		tok, err = f.redeemCode(ctx, log, code, pkceVerifier, callbackURL)
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

// codeOfVerifier is the authorization code a verifier carries: the
// verifier itself when it is a bare code, else the code parameter of the
// callback URL it is (the whole URL the browser was sent back to). When
// state is known, a callback URL's state must be state; an error parameter
// in it is the authorization server's refusal (RFC 6749 section 4.1.2.1).
func codeOfVerifier(verifier, state string) (string, error) {
	verifier = strings.TrimSpace(verifier)
	if verifier == "" {
		return "", errors.New("the verifier is empty: give the code from the callback, or the whole callback URL")
	}
	if !strings.Contains(verifier, "?") && !strings.Contains(verifier, "://") {
		return verifier, nil
	}
	u, err := url.Parse(verifier)
	if err != nil { // url.Error would repeat the URL, and with it the code
		return "", errors.New("the verifier looks like a callback URL but is not a valid URL: give the code, or the whole URL the browser was sent back to")
	}
	q := u.Query()
	switch {
	case q.Get("error") != "":
		return "", refusal(q)
	case state != "" && q.Get("state") != state:
		return "", errors.New("the verifier is a callback URL whose state is not the sign-in's: it answers another sign-in; start the sign-in again")
	case q.Get("code") == "":
		return "", errors.New("the verifier is a URL with no code parameter: give the whole URL the browser was sent back to, or the code")
	}
	return q.Get("code"), nil
}

// refusal is the error an authorization callback's error parameters
// report: the server (or the user) refused the sign-in.
func refusal(q url.Values) error {
	msg := "the authorization server refused the sign-in: " + q.Get("error")
	if d := q.Get("error_description"); d != "" {
		msg += ": " + d
	}
	return errors.New(msg)
}

// RefreshOAuthAccessToken redeems a refresh token (OAuthRefreshToken from
// the options when refreshToken is empty). Databricks rotates refresh
// tokens: keep the new one, the old one no longer works.
func (c *Config) RefreshOAuthAccessToken(ctx context.Context, o *connstr.Options, refreshToken string) (*OAuthTokens, error) {
	c = c.use()
	f, log, err := c.procedureFlow(o, "")
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
func (c *Config) procedureFlow(o *connstr.Options, scope string) (*userFlow, *logger, error) {
	f, err := c.use().newUserFlow(o)
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

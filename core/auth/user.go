package auth

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/connstr"
)

// Defaults of the user login (AuthScheme=OAuthPKCE).
const (
	// DefaultClientID is the public OAuth client every Databricks workspace
	// registers for the databricks CLI and SDKs.
	DefaultClientID = "databricks-cli"
	// DefaultCallbackURL is where the browser returns; databricks-cli has
	// http://localhost:8020 to 8040 registered.
	DefaultCallbackURL = "http://localhost:8020"
	// LoginTimeout bounds how long a browser login may take.
	LoginTimeout = 5 * time.Minute
)

// DefaultUserScopes are requested when Scope is not given.
var DefaultUserScopes = []string{"all-apis", "offline_access"}

// OpenBrowser opens a URL in the user's browser: $BROWSER if set, else the
// platform's opener. Programs and tests may replace it.
var OpenBrowser = openBrowser

// Prompt receives the authorization URL of a browser login, so that a user
// can open it by hand when no browser opens. Programs may replace it.
var Prompt io.Writer = os.Stderr

// userFlow is a user login's settings, resolved from the options.
type userFlow struct {
	o           *connstr.Options
	clientID    string
	scopes      []string
	callbackURL string // "" means DefaultCallbackURL, with fallback ports
	metadata    string
}

func newUserFlow(o *connstr.Options) (*userFlow, error) {
	metadata, err := metadataURL(o)
	if err != nil {
		return nil, err
	}
	f := &userFlow{o: o, clientID: o.OAuthClientID, scopes: withOfflineAccess(o.Scopes()), callbackURL: o.CallbackURL, metadata: metadata}
	if f.clientID == "" {
		f.clientID = DefaultClientID
	}
	return f, nil
}

// withOfflineAccess is a user login's scopes: DefaultUserScopes when none
// are given, else those given plus offline_access, without which there is
// no refresh token and a stored login ends with its first access token.
func withOfflineAccess(scopes []string) []string {
	if len(scopes) == 0 {
		return DefaultUserScopes
	}
	if slices.Contains(scopes, "offline_access") {
		return scopes
	}
	return append(slices.Clone(scopes), "offline_access")
}

// redirectURI is the callback URL a flow without a listener uses: the
// configured one, else DefaultCallbackURL.
func (f *userFlow) redirectURI() string {
	if f.callbackURL != "" {
		return f.callbackURL
	}
	return DefaultCallbackURL
}

// newState returns a random OAuth state.
func newState() string { return oauth2.GenerateVerifier()[:22] }

func (f *userFlow) clientAuth() clientAuth {
	return clientAuth{id: f.clientID, secret: f.o.OAuthClientSecret, basic: f.o.OAuthClientSecret != ""}
}

func (f *userFlow) endpoints(ctx context.Context, log *logger) (*Endpoints, error) {
	return discover(ctx, httpClient, log, f.metadata)
}

// authorizationURL builds the authorize request with a PKCE S256 challenge.
func (f *userFlow) authorizationURL(ep *Endpoints, redirectURI, state, verifier string) string {
	cfg := oauth2.Config{ClientID: f.clientID, Endpoint: oauth2.Endpoint{AuthURL: ep.AuthorizationEndpoint}, RedirectURL: redirectURI, Scopes: f.scopes}
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// redeemCode exchanges an authorization code.
func (f *userFlow) redeemCode(ctx context.Context, log *logger, code, codeVerifier, redirectURI string) (*oauth2.Token, error) {
	ep, err := f.endpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	return exchange(ctx, httpClient, log, ep.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {codeVerifier}, "redirect_uri": {redirectURI}}, f.clientAuth())
}

// refresh redeems a refresh token.
func (f *userFlow) refresh(ctx context.Context, log *logger, refreshToken string) (*oauth2.Token, error) {
	ep, err := f.endpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	return exchange(ctx, httpClient, log, ep.TokenEndpoint, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refreshToken}}, f.clientAuth())
}

// userSource serves AuthScheme=OAuthPKCE per InitiateOAuth (default
// GETANDREFRESH): tokens live in the store at OAuthSettingsLocation, keyed
// by host, client and scopes; renewals happen under the store's lock.
func userSource(o *connstr.Options) (*Source, error) {
	f, err := newUserFlow(o)
	if err != nil {
		return nil, err
	}
	initiate := o.InitiateOAuth
	if initiate == "" {
		initiate = connstr.InitiateGetAndRefresh
	}
	s := &Source{identity: fmt.Sprintf("user login (client %s, scopes %s) at %s", f.clientID, strings.Join(f.scopes, " "), hostOf(o)),
		refreshable: initiate != connstr.InitiateOff}
	if initiate == connstr.InitiateOff {
		s.fetch = func(_ context.Context, refused string) (*oauth2.Token, error) {
			if refused != "" {
				return nil, errors.New("OAuthAccessToken was refused, and InitiateOAuth=OFF never refreshes: give a new token")
			}
			return givenAccessToken(o)
		}
		return s, nil
	}
	store, err := OpenStore(o.OAuthSettingsLocation)
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

// login runs the desktop flow: it serves the loopback callback on
// CallbackURL's port (127.0.0.1 only), sends the browser to the authorize
// URL, takes one callback with the right state, and redeems the code.
func (f *userFlow) login(ctx context.Context, log *logger, state string) (*oauth2.Token, error) {
	if !browserLogin {
		return nil, errors.New("a browser login (InitiateOAuth=GETANDREFRESH, AuthMode=APP) needs a browser and a loopback listener, " +
			"which the WASI build has not: run the OAuth procedures with AuthMode=WEB and your own callback, " +
			"or use InitiateOAuth=REFRESH with OAuthRefreshToken")
	}
	ln, redirectURI, err := listenCallback(f.callbackURL)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(ctx, max(LoginTimeout, timeout(f.o)))
	defer cancel()
	ep, err := f.endpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	if state == "" {
		state = newState()
	}
	verifier := oauth2.GenerateVerifier()
	authURL := f.authorizationURL(ep, redirectURI, state, verifier)

	codes := make(chan string, 1)
	failures := make(chan error, 1)
	callbackPath := pathOf(redirectURI)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path != callbackPath:
			http.NotFound(w, r)
			return
		case q.Get("state") != state:
			w.WriteHeader(http.StatusBadRequest)
			callbackPage.Execute(w, "This sign-in does not match the one lakelink started (state differs). Start it again.")
			return // not the browser we sent: keep waiting
		case q.Get("error") != "":
			w.WriteHeader(http.StatusBadRequest)
			callbackPage.Execute(w, "Sign-in failed: "+q.Get("error")+". You can close this window.")
			failures <- refusal(q)
		default:
			callbackPage.Execute(w, "Signed in to lakelink. You can close this window.")
			codes <- q.Get("code")
		}
		go ln.Close() // one sign-in per listener
	})}
	go srv.Serve(ln)
	defer func() { // let the browser receive its page before closing
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	fmt.Fprintf(Prompt, "Opening the browser to sign in. If it does not open, visit:\n  %s\n", authURL)
	if err := OpenBrowser(authURL); err != nil {
		log.info("no browser opened", "error", err.Error())
	}
	select {
	case code := <-codes:
		return f.redeemCode(ctx, log, code, verifier, redirectURI)
	case err := <-failures:
		return nil, err
	case <-ctx.Done():
		return nil, fmt.Errorf("no sign-in completed within %s at %s (the browser should have been sent to the URL printed above)",
			max(LoginTimeout, timeout(f.o)), redirectURI)
	}
}

// listenCallback listens on 127.0.0.1 at the callback URL's port. With no
// CallbackURL it tries databricks-cli's registered ports 8020 to 8040.
func listenCallback(callbackURL string) (net.Listener, string, error) {
	if callbackURL == "" {
		for port := 8020; port <= 8040; port++ {
			if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				return ln, "http://localhost:" + strconv.Itoa(port), nil
			}
		}
		return nil, "", errors.New("ports 8020 to 8040 on 127.0.0.1 are all in use: set CallbackURL to a free loopback port registered for the client")
	}
	u, err := url.Parse(callbackURL)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return nil, "", fmt.Errorf("CallbackURL %q: the desktop flow needs http://localhost:PORT or http://127.0.0.1:PORT", callbackURL)
	}
	if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
		return nil, "", fmt.Errorf("CallbackURL %q is not a loopback address: the desktop flow listens on this machine only", callbackURL)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+u.Port())
	if err != nil {
		return nil, "", fmt.Errorf("CallbackURL %s: cannot listen on 127.0.0.1:%s: %w", callbackURL, u.Port(), err)
	}
	return ln, callbackURL, nil
}

func pathOf(rawURL string) string {
	u, _ := url.Parse(rawURL)
	if u == nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

// openBrowser runs $BROWSER with the URL, else xdg-open, open or the
// Windows opener. It does not wait for the browser.
func openBrowser(target string) error {
	var cmd *exec.Cmd
	switch {
	case os.Getenv("BROWSER") != "":
		cmd = exec.Command("sh", "-c", os.Getenv("BROWSER")+` "$1"`, "browser", target)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", target)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", target)
	default:
		cmd = exec.Command("xdg-open", target)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>lakelink</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto"><p id="result">{{.}}</p></body></html>
`))

// storedFlow is the user flow of the options with its token store and the
// identity's key in it: what the stored-login operations work on.
func storedFlow(o *connstr.Options) (*userFlow, *logger, Store, string, error) {
	f, log, err := procedureFlow(o, "")
	if err != nil {
		return nil, nil, nil, "", err
	}
	store, err := OpenStore(o.OAuthSettingsLocation)
	if err != nil {
		return nil, nil, nil, "", err
	}
	return f, log, store, f.storeKey(), nil
}

// storeKey is the identity's key in a token store.
func (f *userFlow) storeKey() string { return StoreKey(hostOf(f.o), f.clientID, f.scopes) }

// Login runs the desktop flow (browser and loopback callback) for the
// options' user login and stores the tokens, replacing any stored before.
// When they cannot be stored it returns them with a *NotSavedError, so
// that the caller can hand them to the user.
func Login(ctx context.Context, o *connstr.Options) (*OAuthTokens, string, error) {
	f, log, store, key, err := storedFlow(o)
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
func StartHeadless(ctx context.Context, o *connstr.Options) (*AuthorizationURL, error) {
	f, _, store, key, err := storedFlow(o)
	if err != nil {
		return nil, err
	}
	a, err := GetOAuthAuthorizationURL(ctx, o, "", "", "")
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
func FinishHeadless(ctx context.Context, o *connstr.Options, code string) (*OAuthTokens, string, error) {
	with := *o
	with.OAuthVerifier = code
	f, log, store, key, err := storedFlow(&with)
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
func RefreshStored(ctx context.Context, o *connstr.Options) (*OAuthTokens, string, error) {
	f, log, store, key, err := storedFlow(o)
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

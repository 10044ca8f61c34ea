package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

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

	fmt.Fprintf(f.cfg.prompt(), "Opening the browser to sign in. If it does not open, visit:\n  %s\n", authURL)
	if err := f.cfg.openBrowser(authURL); err != nil {
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

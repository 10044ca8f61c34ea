package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sessionCookie carries a browser's session with the app after sign-in.
const sessionCookie = "lakelink-app-session"

// signInTTL is how long a browser sign-in may take: an app login waiting
// for its callback, or a consent page waiting for its answer.
const signInTTL = 10 * time.Minute

// genieScope is the scope the app's /api/genie route needs in the
// caller's token.
const genieScope = "dashboards.genie"

// defaultUserAPIScopes are the scopes Databricks adds to an app's user API
// scopes when user authorization is on: the token forwarded to the app may
// always read who the user is and the user's permissions. Based on
// Databricks' "Configure authorization in a Databricks app"
// (docs.databricks.com/aws/en/dev-tools/databricks-apps/auth, "User
// authorization": these two are always included by default and cannot be
// requested), and on what GET /api/2.0/apps/{name} answers for such apps:
// effective_user_api_scopes lists these two beside the configured
// user_api_scopes, which do not name them.
var defaultUserAPIScopes = []string{"iam.current-user:read", "iam.access-control:read"}

// checkUserAPIScopes checks the scopes an app's user authorization is
// configured with (known scopes, but neither all-apis nor offline_access)
// and returns them without repeats.
func checkUserAPIScopes(scopes []string) ([]string, error) {
	var out []string
	for _, s := range scopes {
		if s == "all-apis" || s == "offline_access" || !slices.Contains(knownScopes, s) {
			allowed := slices.DeleteFunc(slices.Clone(knownScopes), func(s string) bool { return s == "all-apis" || s == "offline_access" })
			return nil, fmt.Errorf("app user API scope %q: want one of %s", s, strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// effectiveUserAPIScopes are the scopes of the tokens forwarded to the
// app: its user API scopes and Databricks' defaults. Nil when user
// authorization is off.
func (e *Emulator) effectiveUserAPIScopes() []string {
	if len(e.cfg.AppUserAPIScopes) == 0 {
		return nil
	}
	out := slices.Clone(e.cfg.AppUserAPIScopes)
	for _, s := range defaultUserAPIScopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// sessionScopes are the scopes of a browser session with the app: every
// API, a refresh token, and the app's user API scopes.
func (e *Emulator) sessionScopes() []string {
	return append([]string{"all-apis", "offline_access"}, e.cfg.AppUserAPIScopes...)
}

// appSessions are the Apps platform's browser sign-ins: logins under way
// (keyed by OAuth state) and signed-in sessions (keyed by cookie, holding
// the session's access token).
type appSessions struct {
	mu       sync.Mutex
	logins   map[string]pendingLogin
	sessions map[string]caller
}

type pendingLogin struct {
	verifier string
	path     string // where the browser was going
	expires  time.Time
}

// appHandler is the emulated Databricks App behind its platform proxy. The
// proxy admits /api/ routes with a bearer token (or a browser session) whose
// principal has CAN USE on the app, strips the Authorization header and
// injects the X-Forwarded-* headers, as Databricks Apps do. Other routes
// need a browser session: without one the proxy sends the browser to the
// workspace's login and back to /.auth/callback.
func (e *Emulator) appHandler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("/api/whoami", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{
			"user":               r.Header.Get("X-Forwarded-User"),
			"email":              r.Header.Get("X-Forwarded-Email"),
			"preferred_username": r.Header.Get("X-Forwarded-Preferred-Username"),
		})
	})
	api.HandleFunc("/api/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			writeAPIError(w, http.StatusRequestEntityTooLarge, "INVALID_PARAMETER_VALUE", "body over 10 MiB")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.Query(), "headers": r.Header, "body": string(body),
		})
	})
	api.HandleFunc("/api/genie", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"answer": "Genie says hello to " + r.Header.Get("X-Forwarded-Email")})
	})
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("The app has no route %s", r.URL.Path))
	})
	// routeScopes are the scopes a route needs in the caller's token.
	routeScopes := map[string][]string{"/api/genie": {genieScope}}

	apiProxy := e.route(epApp, func(w http.ResponseWriter, r *http.Request) {
		c, ok := e.sessionCaller(r)
		if !ok {
			var status int
			var message string
			if c, status, message = e.authenticateBearer(r); status != 0 {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				writeAPIError(w, status, "UNAUTHENTICATED", message)
				return
			}
		}
		p := c.principal
		if !p.CanUseApp {
			writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
				fmt.Sprintf("%s (%s) does not have CAN USE permission on app %s", p.DisplayName, p.Name, appName))
			return
		}
		for _, need := range routeScopes[r.URL.Path] {
			if !c.claims.HasScope(need) {
				writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
					fmt.Sprintf("The access token is missing the scope %s required by %s (it has: %s)", need, r.URL.Path, c.claims.Scope))
				return
			}
		}
		if err := e.forwardIdentity(r, c); err != nil {
			writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "the app's proxy could not issue the user's token")
			return
		}
		api.ServeHTTP(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", apiProxy)
	mux.HandleFunc("/.auth/callback", e.handleAppCallback)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, ok := e.sessionCaller(r)
		if !ok {
			e.redirectToLogin(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		appPage.Execute(w, map[string]string{"App": appName, "User": c.principal.Name, "Path": r.URL.Path})
	})
	return e.logRequests("app", mux)
}

// forwardIdentity replaces whatever X-Forwarded-* headers the client sent
// with the platform's own, and drops the Authorization header. With user
// authorization on, a user's request also carries the user's token for
// the app in X-Forwarded-Access-Token (see forwardedToken).
func (e *Emulator) forwardIdentity(r *http.Request, c caller) error {
	for name := range r.Header {
		if strings.HasPrefix(name, "X-Forwarded-") {
			r.Header.Del(name)
		}
	}
	r.Header.Del("Authorization")
	p := c.principal
	r.Header.Set("X-Forwarded-User", strconv.FormatInt(p.ID, 10)+"@"+workspaceID)
	r.Header.Set("X-Forwarded-Email", p.Name)
	r.Header.Set("X-Forwarded-Preferred-Username", p.Name)
	r.Header.Set("X-Request-Id", newApplicationID())
	if p.Kind != kindUser || len(e.cfg.AppUserAPIScopes) == 0 {
		return nil
	}
	token, err := e.forwardedToken(c)
	if err != nil {
		return err
	}
	r.Header.Set("X-Forwarded-Access-Token", token)
	return nil
}

// maxForwardedTokens bounds the forwarded tokens kept for reuse.
const maxForwardedTokens = 10_000

// forwardedTokens keeps the token forwarded for each caller's token
// (keyed by its SHA-256), so that a user's requests with one token, or one
// browser session, forward one token, as on Databricks, until it expires.
type forwardedTokens struct {
	mu     sync.Mutex
	tokens map[[sha256.Size]byte]forwarded
}

type forwarded struct {
	token   string
	expires time.Time
}

// forwardedToken returns the token the app receives for c, a user: a
// token the workspace issues to the app for c's principal, with the app's
// effective user API scopes (those c's own token covers: all of them with
// all-apis; Databricks' defaults always), expiring no later than c's. It
// is not c's token, which the app never sees.
func (e *Emulator) forwardedToken(c caller) (string, error) {
	key, now := sha256.Sum256([]byte(c.token)), time.Now()
	f := &e.forwarded
	f.mu.Lock()
	held, ok := f.tokens[key]
	f.mu.Unlock()
	if ok && now.Before(held.expires) {
		return held.token, nil
	}
	scopes := slices.DeleteFunc(e.effectiveUserAPIScopes(), func(s string) bool {
		return !slices.Contains(defaultUserAPIScopes, s) && !c.claims.HasScope("all-apis") && !c.claims.HasScope(s)
	})
	expires := now.Add(e.cfg.TokenTTL)
	if c.claims.ExpiresAt().Before(expires) {
		expires = c.claims.ExpiresAt()
	}
	token, err := e.signAccessToken(c.principal, appName, scopes, expires)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) >= maxForwardedTokens {
		maps.DeleteFunc(f.tokens, func(_ [sha256.Size]byte, t forwarded) bool { return !now.Before(t.expires) })
	}
	for k := range f.tokens { // still full: forget any one
		if len(f.tokens) < maxForwardedTokens {
			break
		}
		delete(f.tokens, k)
	}
	f.tokens[key] = forwarded{token: token, expires: expires}
	return token, nil
}

// sessionCaller returns the signed-in browser session of r, if it has a
// live one.
func (e *Emulator) sessionCaller(r *http.Request) (caller, bool) {
	cookie, err := r.Cookie(sessionCookie)
	if err != nil {
		return caller{}, false
	}
	e.appSessions.mu.Lock()
	defer e.appSessions.mu.Unlock()
	c, ok := e.appSessions.sessions[cookie.Value]
	if ok && time.Now().After(c.claims.ExpiresAt()) {
		delete(e.appSessions.sessions, cookie.Value)
		return caller{}, false
	}
	return c, ok
}

// redirectToLogin sends a browser to the workspace's authorize endpoint, as
// the Apps platform does, remembering where it was going.
func (e *Emulator) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	state, verifier := randomID(16), randomID(32)
	path := r.URL.RequestURI()
	if strings.HasPrefix(path, "//") { // would leave the app: //host/...
		path = "/"
	}
	now := time.Now()
	e.appSessions.mu.Lock()
	maps.DeleteFunc(e.appSessions.logins, func(_ string, l pendingLogin) bool { return now.After(l.expires) })
	e.appSessions.logins[state] = pendingLogin{verifier: verifier, path: path, expires: now.Add(signInTTL)}
	e.appSessions.mu.Unlock()
	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {appName},
		"redirect_uri":          {e.info.AppURL + "/.auth/callback"},
		"response_type":         {"code"},
		"scope":                 {strings.Join(e.sessionScopes(), " ")},
		"state":                 {state},
		"code_challenge":        {b64.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	http.Redirect(w, r, e.info.WorkspaceURL+"/oidc/v1/authorize?"+q.Encode(), http.StatusFound)
}

// handleAppCallback completes the browser sign-in: it redeems the code at
// the workspace's token endpoint as the app's OAuth client, starts a
// session and returns the browser where it was going.
func (e *Emulator) handleAppCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e.appSessions.mu.Lock()
	login, ok := e.appSessions.logins[q.Get("state")]
	delete(e.appSessions.logins, q.Get("state"))
	e.appSessions.mu.Unlock()
	switch {
	case !ok || time.Now().After(login.expires):
		showAuthorizeError(w, "This sign-in is unknown, expired or was already completed. Open the app again.")
		return
	case q.Get("error") != "":
		showAuthorizeError(w, "Sign-in failed: "+q.Get("error")+": "+q.Get("error_description"))
		return
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {e.info.AppURL + "/.auth/callback"}, "code_verifier": {login.verifier}}
	req, _ := http.NewRequestWithContext(r.Context(), "POST", e.info.WorkspaceURL+"/oidc/v1/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(appName, e.dir.clients[appName].Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		showAuthorizeError(w, "Sign-in failed: the workspace did not answer: "+err.Error())
		return
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	claims, err := e.signer.verify(tok.AccessToken, time.Now())
	if resp.StatusCode != http.StatusOK || err != nil {
		showAuthorizeError(w, fmt.Sprintf("Sign-in failed: the token exchange answered %d: %s", resp.StatusCode, tok.Error))
		return
	}
	c := caller{claims: claims, principal: e.dir.principalByName(claims.Subject), token: tok.AccessToken}
	if c.principal == nil || !c.principal.CanUseApp {
		showAuthorizeError(w, claims.Subject+" does not have CAN USE permission on app "+appName+".")
		return
	}
	id, now := randomID(32), time.Now()
	e.appSessions.mu.Lock()
	maps.DeleteFunc(e.appSessions.sessions, func(_ string, s caller) bool { return now.After(s.claims.ExpiresAt()) })
	e.appSessions.sessions[id] = c
	e.appSessions.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, login.path, http.StatusFound)
}

var appPage = template.Must(template.New("app").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.App}}</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>{{.App}}</h1><p>Signed in as <b id="user">{{.User}}</b> (page {{.Path}}).</p>
<p>API routes: <a href="/api/whoami">/api/whoami</a>, <a href="/api/echo">/api/echo</a>, <a href="/api/genie">/api/genie</a>.</p>
</body></html>
`))

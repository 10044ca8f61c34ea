package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"html/template"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// authRequest is a validated authorization request, waiting for consent
// (interactive mode) or turned into a code at once.
type authRequest struct {
	client        *oauthClient
	redirectURI   string
	state         string
	codeChallenge string
	scopes        []string
}

// authCode is an issued authorization code: single use, short-lived.
type authCode struct {
	authRequest
	user    *principal
	expires time.Time
}

// refreshGrant is what a refresh token stands for. Refresh tokens rotate:
// each works once.
type refreshGrant struct {
	client    *oauthClient
	principal *principal
	scopes    []string
	used      bool
}

// pendingConsent is a request shown on the consent page, waiting for an
// answer until expires.
type pendingConsent struct {
	*authRequest
	expires time.Time
}

// grantStore holds the OAuth server's in-flight state. Consents and codes
// that expired are pruned whenever one is added.
type grantStore struct {
	mu       sync.Mutex
	pending  map[string]pendingConsent // consent id -> request (interactive mode)
	codes    map[string]*authCode
	refreshs map[string]*refreshGrant
}

func newGrantStore() *grantStore {
	return &grantStore{pending: map[string]pendingConsent{}, codes: map[string]*authCode{}, refreshs: map[string]*refreshGrant{}}
}

// grantTypes are the token endpoint's grants.
var grantTypes = []string{"client_credentials", "authorization_code", "refresh_token"}

// oauthMetadata is the RFC 8414 document at
// /oidc/.well-known/oauth-authorization-server, in the shape Databricks
// workspaces publish.
func (e *Emulator) oauthMetadata() map[string]any {
	oidc := e.info.WorkspaceURL + "/oidc"
	return map[string]any{
		"issuer":                                oidc,
		"authorization_endpoint":                oidc + "/v1/authorize",
		"token_endpoint":                        oidc + "/v1/token",
		"jwks_uri":                              oidc + "/jwks.json",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 grantTypes,
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"scopes_supported":                      knownScopes,
		"subject_types_supported":               []string{"public"},
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       false,
	}
}

// databricksConfig is /.well-known/databricks-config, from which
// databricks-sdk-go resolves the host type and the OIDC discovery URL.
func (e *Emulator) databricksConfig() map[string]any {
	return map[string]any{
		"oidc_endpoint": e.info.WorkspaceURL + "/oidc",
		"workspace_id":  workspaceID,
		"host_type":     "WORKSPACE_HOST",
		"token_federation_default_oidc_audiences": []string{e.info.WorkspaceURL + "/oidc/v1/token"},
	}
}

// handleAuthorize is /oidc/v1/authorize: the authorization-code flow with
// PKCE (RFC 6749 4.1, RFC 7636; S256 only). Errors about the client or
// redirect URI are shown to the user; the rest go back to the redirect URI,
// as RFC 6749 4.1.2.1 prescribes.
func (e *Emulator) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := e.dir.clients[q.Get("client_id")]
	if client == nil {
		showAuthorizeError(w, "Unknown client_id "+strconv.Quote(q.Get("client_id"))+".")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" || !client.redirectAllowed(redirectURI) {
		showAuthorizeError(w, "redirect_uri "+strconv.Quote(redirectURI)+" is not registered for client "+client.ID+".")
		return
	}
	req := &authRequest{client: client, redirectURI: redirectURI, state: q.Get("state"),
		codeChallenge: q.Get("code_challenge"), scopes: strings.Fields(q.Get("scope"))}
	fail := func(code, description string) {
		redirectWith(w, r, redirectURI, url.Values{"error": {code}, "error_description": {description}, "state": {req.state}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case req.codeChallenge == "":
		fail("invalid_request", "code_challenge is required: this server requires PKCE (RFC 7636)")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256; plain is not supported")
		return
	case !pkceChallenge.MatchString(req.codeChallenge):
		fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)")
		return
	}
	if len(req.scopes) == 0 {
		req.scopes = []string{"all-apis"}
	}
	if denied, ok := client.checkScopes(req.scopes); !ok {
		fail("invalid_scope", "scope "+strconv.Quote(denied)+" is not allowed for client "+client.ID)
		return
	}
	if !e.cfg.Interactive {
		e.issueCode(w, r, req)
		return
	}
	id, now := randomID(16), time.Now()
	e.grants.mu.Lock()
	maps.DeleteFunc(e.grants.pending, func(_ string, p pendingConsent) bool { return now.After(p.expires) })
	e.grants.pending[id] = pendingConsent{authRequest: req, expires: now.Add(signInTTL)}
	e.grants.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	consentPage.Execute(w, map[string]any{"ID": id, "Client": client.ID, "User": e.dir.user.Name, "Scopes": req.scopes})
}

// handleConsent receives the consent page's form: Allow or Deny.
func (e *Emulator) handleConsent(w http.ResponseWriter, r *http.Request) {
	e.grants.mu.Lock()
	p, ok := e.grants.pending[r.PostFormValue("consent_id")]
	delete(e.grants.pending, r.PostFormValue("consent_id"))
	e.grants.mu.Unlock()
	if !ok || time.Now().After(p.expires) {
		showAuthorizeError(w, "This sign-in request is unknown, expired or was already answered. Start the sign-in again.")
		return
	}
	req := p.authRequest
	if r.PostFormValue("decision") != "allow" {
		redirectWith(w, r, req.redirectURI, url.Values{"error": {"access_denied"},
			"error_description": {"the user denied the request"}, "state": {req.state}})
		return
	}
	e.issueCode(w, r, req)
}

func (e *Emulator) issueCode(w http.ResponseWriter, r *http.Request, req *authRequest) {
	code, now := randomID(32), time.Now()
	e.grants.mu.Lock()
	maps.DeleteFunc(e.grants.codes, func(_ string, c *authCode) bool { return now.After(c.expires) })
	e.grants.codes[code] = &authCode{authRequest: *req, user: e.dir.user, expires: now.Add(e.codeTTL)}
	e.grants.mu.Unlock()
	e.log.Info("authorization code issued", "client", req.client.ID, "user", e.dir.user.Name, "scopes", strings.Join(req.scopes, " "))
	redirectWith(w, r, req.redirectURI, url.Values{"code": {code}, "state": {req.state}})
}

// handleToken is /oidc/v1/token: client_credentials, authorization_code and
// refresh_token grants, with errors in RFC 6749 5.2 form.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"the token endpoint takes a form: send Content-Type: application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "body is not a form: "+err.Error())
		return
	}
	grant := r.PostForm.Get("grant_type")
	counted := grant
	if !slices.Contains(grantTypes, grant) {
		counted = "other"
	}
	e.stats.update(func(s *Stats) { s.Grants[counted]++ })
	client, oerr := e.authenticateClient(r)
	if oerr != nil {
		oerr.write(w)
		return
	}
	var (
		who    *principal
		scopes []string // the access token's
		// keep is the grant a new refresh token stands for; nil: no refresh token.
		keep []string
	)
	switch grant {
	case "client_credentials":
		if client.ServicePrincipal == nil {
			writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "client "+client.ID+" may not use client_credentials")
			return
		}
		who, scopes = client.ServicePrincipal, strings.Fields(r.PostForm.Get("scope"))
		if len(scopes) == 0 {
			scopes = []string{"all-apis"}
		}
		if denied, ok := client.checkScopes(scopes); !ok {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "scope "+strconv.Quote(denied)+" is not allowed for client "+client.ID)
			return
		}
	case "authorization_code":
		code, oerr := e.redeemCode(r, client)
		if oerr != nil {
			oerr.write(w)
			return
		}
		who, scopes = code.user, code.scopes
		if slices.Contains(scopes, "offline_access") {
			keep = scopes
		}
	case "refresh_token":
		g, narrowed, oerr := e.redeemRefreshToken(r, client)
		if oerr != nil {
			oerr.write(w)
			return
		}
		who, scopes, keep = g.principal, narrowed, g.scopes
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
		return
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+strconv.Quote(grant)+" is not supported")
		return
	}
	access, err := e.signAccessToken(who, client.ID, scopes, time.Now().Add(e.cfg.TokenTTL))
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "signing failed")
		return
	}
	resp := map[string]any{"access_token": access, "token_type": "Bearer",
		"expires_in": int64(e.cfg.TokenTTL / time.Second), "scope": strings.Join(scopes, " ")}
	if keep != nil {
		rt := "doau" + randomHex(32)
		e.grants.mu.Lock()
		e.grants.refreshs[rt] = &refreshGrant{client: client, principal: who, scopes: keep}
		e.grants.mu.Unlock()
		resp["refresh_token"] = rt
	}
	e.stats.update(func(s *Stats) { s.TokensIssued++ })
	e.log.Info("token issued", "grant", grant, "client", client.ID, "principal", who.Name, "scopes", strings.Join(scopes, " "))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// signAccessToken signs a workspace access token of who, issued to the
// client clientID, with scopes, expiring at expiry.
func (e *Emulator) signAccessToken(who *principal, clientID string, scopes []string, expiry time.Time) (string, error) {
	return e.signer.sign(&Claims{Issuer: e.info.WorkspaceURL + "/oidc", Subject: who.Name, Audience: clientID,
		ClientID: clientID, Scope: strings.Join(scopes, " "), Kind: who.Kind,
		IssuedAt: time.Now().Unix(), Expiry: expiry.Unix(), ID: randomID(12)})
}

// authenticateClient identifies the client of a token request by HTTP Basic
// or by form fields (client_secret_post); a public client sends only its
// client_id. Using both methods at once is refused (RFC 6749 2.3).
func (e *Emulator) authenticateClient(r *http.Request) (*oauthClient, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Has("client_secret") {
			return nil, &oauthError{http.StatusBadRequest, "invalid_request", "client authenticated by both HTTP Basic and client_secret"}
		}
		// RFC 6749 2.3.1: both parts are form-urlencoded inside Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed: no client_id"}
	}
	client := e.dir.clients[id]
	if client == nil {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed: unknown client"}
	}
	if client.Secret == "" && secret == "" {
		return client, nil
	}
	if subtle.ConstantTimeCompare([]byte(client.Secret), []byte(secret)) != 1 {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed: wrong client secret"}
	}
	return client, nil
}

func (e *Emulator) redeemCode(r *http.Request, client *oauthClient) (*authCode, *oauthError) {
	code := r.PostForm.Get("code")
	e.grants.mu.Lock()
	c := e.grants.codes[code]
	delete(e.grants.codes, code) // single use, whatever happens next
	e.grants.mu.Unlock()
	verifier := r.PostForm.Get("code_verifier")
	switch {
	case c == nil:
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "authorization code is invalid or was already used"}
	case time.Now().After(c.expires):
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "authorization code expired"}
	case c.client != client:
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "authorization code was issued to another client"}
	case r.PostForm.Get("redirect_uri") != c.redirectURI:
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request"}
	case verifier == "":
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "code_verifier is required (PKCE)"}
	case !pkceVerifier.MatchString(verifier):
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]"}
	}
	sum := sha256.Sum256([]byte(verifier))
	if b64.EncodeToString(sum[:]) != c.codeChallenge {
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge"}
	}
	return c, nil
}

// redeemRefreshToken consumes a refresh token and returns its grant and the
// scopes of the access token to issue: those asked for, which may narrow
// the grant but not widen it, or else the grant's. The grant itself stays
// whole for the next refresh token (RFC 6749 section 6). The description of
// an unusable token is Databricks' own, which databricks-sdk-go recognises.
func (e *Emulator) redeemRefreshToken(r *http.Request, client *oauthClient) (*refreshGrant, []string, *oauthError) {
	invalid := &oauthError{http.StatusBadRequest, "invalid_grant", "Refresh token is invalid"}
	e.grants.mu.Lock()
	defer e.grants.mu.Unlock()
	g := e.grants.refreshs[r.PostForm.Get("refresh_token")]
	switch {
	case g == nil || g.client != client:
		return nil, nil, invalid
	case g.used:
		e.stats.update(func(s *Stats) { s.RefreshTokensReused++ })
		return nil, nil, invalid
	}
	scopes := g.scopes
	if requested := strings.Fields(r.PostForm.Get("scope")); len(requested) > 0 {
		for _, s := range requested {
			if !slices.Contains(g.scopes, s) {
				return nil, nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope " + strconv.Quote(s) + " was not granted originally"}
			}
		}
		scopes = requested
	}
	g.used = true
	e.stats.update(func(s *Stats) { s.RefreshTokensRedeemed++ })
	return g, scopes, nil
}

var (
	pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	pkceVerifier  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
)

type oauthError struct {
	status      int
	code        string
	description string
}

func (o *oauthError) write(w http.ResponseWriter) {
	writeOAuthError(w, o.status, o.code, o.description)
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidc"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func redirectWith(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, _ := url.Parse(target) // validated against the registered URIs already
	q := u.Query()
	for k, v := range params {
		if v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func showAuthorizeError(w http.ResponseWriter, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	errorPage.Execute(w, message)
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to the lakelink emulator</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>Authorize {{.Client}}</h1>
<p>Signed in as <b id="user">{{.User}}</b>. <b>{{.Client}}</b> asks for:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<form method="post" action="authorize/consent">
<input type="hidden" name="consent_id" value="{{.ID}}">
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form></body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign-in error</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>Sign-in error</h1><p id="error">{{.}}</p></body></html>
`))

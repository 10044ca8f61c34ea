package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests in this file drive the emulated workspace's OAuth server over
// real HTTP: discovery, the JWKS, and the client_credentials,
// authorization_code (PKCE) and refresh_token grants.

const (
	oauthCLI         = "databricks-cli"
	oauthCLIRedirect = "http://localhost:8020"
)

func TestOAuthDatabricksConfig(t *testing.T) {
	ws := shared.Info().WorkspaceURL
	r := do(t, "GET", ws+"/.well-known/databricks-config", "", nil)
	wantStatus(t, r, http.StatusOK)
	if got := r.body["oidc_endpoint"]; got != ws+"/oidc" {
		t.Errorf("oidc_endpoint = %v, want %s", got, ws+"/oidc")
	}
	if got := r.body["workspace_id"]; got != shared.Info().WorkspaceID {
		t.Errorf("workspace_id = %v, want %s", got, shared.Info().WorkspaceID)
	}
	if got := r.body["host_type"]; got != "WORKSPACE_HOST" {
		t.Errorf("host_type = %v, want WORKSPACE_HOST", got)
	}
}

func TestOAuthAuthorizationServerMetadata(t *testing.T) {
	ws := shared.Info().WorkspaceURL
	r := do(t, "GET", ws+"/oidc/.well-known/oauth-authorization-server", "", nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	for field, want := range map[string]string{
		"issuer":                 ws + "/oidc",
		"authorization_endpoint": ws + "/oidc/v1/authorize",
		"token_endpoint":         ws + "/oidc/v1/token",
		"jwks_uri":               ws + "/oidc/jwks.json",
	} {
		if got := r.body[field]; got != want {
			t.Errorf("%s = %v, want %s", field, got, want)
		}
	}
	grants := oauthStrings(t, r.body, "grant_types_supported")
	for _, g := range []string{"client_credentials", "authorization_code", "refresh_token"} {
		if !slices.Contains(grants, g) {
			t.Errorf("grant_types_supported %v lacks %s", grants, g)
		}
	}
	if got := oauthStrings(t, r.body, "code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", got)
	}
	if got := oauthStrings(t, r.body, "response_types_supported"); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported = %v, want [code]", got)
	}
	scopes := oauthStrings(t, r.body, "scopes_supported")
	for _, s := range []string{"all-apis", "offline_access", "sql", "file.files", "dashboards.genie"} {
		if !slices.Contains(scopes, s) {
			t.Errorf("scopes_supported %v lacks %s", scopes, s)
		}
	}
	if _, ok := r.body["id_token_signing_alg_values_supported"]; ok {
		t.Error("metadata advertises ID tokens, but openid is not supported")
	}
	// The endpoints it names are the ones that answer.
	jwks := do(t, "GET", r.body["jwks_uri"].(string), "", nil)
	wantStatus(t, jwks, http.StatusOK, `"keys"`)
}

// TestOAuthJWKSVerifiesTokens checks the published key with crypto/rsa
// alone: a relying party that trusts only the JWKS accepts the emulator's
// tokens.
func TestOAuthJWKSVerifiesTokens(t *testing.T) {
	r := do(t, "GET", shared.Info().WorkspaceURL+"/oidc/jwks.json", "", nil)
	wantStatus(t, r, http.StatusOK)
	var set struct {
		Keys []struct{ Kty, Alg, Use, Kid, N, E string }
	}
	if err := json.Unmarshal([]byte(r.raw), &set); err != nil {
		t.Fatalf("jwks: %v in %s", err, r.raw)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("jwks has %d keys, want 1: %s", len(set.Keys), r.raw)
	}
	jwk := set.Keys[0]
	if jwk.Kty != "RSA" || jwk.Alg != "RS256" || jwk.Use != "sig" || jwk.Kid == "" {
		t.Fatalf("jwk = %+v, want an RS256 signing key with a kid", jwk)
	}
	n, err := base64.RawURLEncoding.DecodeString(jwk.N)
	if err != nil {
		t.Fatalf("n: %v", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(jwk.E)
	if err != nil {
		t.Fatalf("e: %v", err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if pub.E != 65537 || pub.N.BitLen() < 2048 {
		t.Errorf("key: e=%d, %d bits; want e=65537 and at least 2048 bits", pub.E, pub.N.BitLen())
	}

	tokens := map[string]string{
		"client_credentials": m2mToken(t, shared, shared.Info().ServicePrincipal, "all-apis"),
		"authorization_code": oauthCodeFlow(t, shared, "all-apis")["access_token"].(string),
	}
	for grant, token := range tokens {
		header, _ := oauthDecodeJWT(t, token)
		if header["kid"] != jwk.Kid || header["alg"] != "RS256" || header["typ"] != "JWT" {
			t.Errorf("%s token header %v, want alg RS256, typ JWT, kid %s", grant, header, jwk.Kid)
		}
		parts := strings.Split(token, ".")
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("%s signature: %v", grant, err)
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Errorf("%s token does not verify with the published key: %v", grant, err)
		}
		// And the check has teeth: another payload does not verify.
		forged := sha256.Sum256([]byte(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`))))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, forged[:], sig) == nil {
			t.Errorf("%s signature verifies a forged payload", grant)
		}
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	tests := []struct {
		name     string
		form     url.Values
		basic    [2]string // user, password for HTTP Basic; empty for none
		status   int
		errCode  string // empty for success
		wantScop string
	}{
		{name: "basic, default scope", basic: [2]string{sp.ClientID, sp.ClientSecret},
			form: url.Values{}, status: 200, wantScop: "all-apis"},
		{name: "basic, explicit scopes", basic: [2]string{sp.ClientID, sp.ClientSecret},
			form: url.Values{"scope": {"sql iam.current-user:read"}}, status: 200, wantScop: "sql iam.current-user:read"},
		{name: "client_secret_post",
			form:   url.Values{"client_id": {sp.ClientID}, "client_secret": {sp.ClientSecret}, "scope": {"all-apis"}},
			status: 200, wantScop: "all-apis"},
		{name: "basic and client_secret_post at once", basic: [2]string{sp.ClientID, sp.ClientSecret},
			form: url.Values{"client_secret": {sp.ClientSecret}}, status: 400, errCode: "invalid_request"},
		{name: "wrong secret, basic", basic: [2]string{sp.ClientID, sp.ClientSecret + "x"},
			form: url.Values{}, status: 401, errCode: "invalid_client"},
		{name: "wrong secret, post", form: url.Values{"client_id": {sp.ClientID}, "client_secret": {"dose-wrong"}},
			status: 401, errCode: "invalid_client"},
		{name: "another principal's secret", basic: [2]string{sp.ClientID, shared.Info().Outsider.ClientSecret},
			form: url.Values{}, status: 401, errCode: "invalid_client"},
		{name: "no secret", form: url.Values{"client_id": {sp.ClientID}}, status: 401, errCode: "invalid_client"},
		{name: "unknown client", basic: [2]string{"00000000-0000-4000-a000-000000000000", sp.ClientSecret},
			form: url.Values{}, status: 401, errCode: "invalid_client"},
		{name: "no client at all", form: url.Values{}, status: 401, errCode: "invalid_client"},
		{name: "public client", form: url.Values{"client_id": {oauthCLI}}, status: 400, errCode: "unauthorized_client"},
		{name: "offline_access", basic: [2]string{sp.ClientID, sp.ClientSecret},
			form: url.Values{"scope": {"all-apis offline_access"}}, status: 400, errCode: "invalid_scope"},
		{name: "unknown scope", basic: [2]string{sp.ClientID, sp.ClientSecret},
			form: url.Values{"scope": {"all-apis sudo"}}, status: 400, errCode: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			r := postForm(t, shared, tt.form, tt.basic[0], tt.basic[1])
			if tt.errCode != "" {
				oauthWantError(t, r, tt.status, tt.errCode)
				return
			}
			wantStatus(t, r, tt.status)
			oauthWantTokenResponse(t, r, tt.wantScop, false)
		})
	}
}

func TestOAuthClientCredentialsClaims(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	before := time.Now().Unix()
	token := m2mToken(t, shared, sp, "sql all-apis")
	after := time.Now().Unix()
	_, claims := oauthDecodeJWT(t, token)
	for claim, want := range map[string]any{
		"iss":            shared.Info().WorkspaceURL + "/oidc",
		"sub":            sp.ClientID,
		"client_id":      sp.ClientID,
		"aud":            sp.ClientID,
		"scope":          "sql all-apis",
		"principal_type": "service_principal",
	} {
		if claims[claim] != want {
			t.Errorf("claim %s = %v, want %v", claim, claims[claim], want)
		}
	}
	iat, exp := oauthNumber(t, claims, "iat"), oauthNumber(t, claims, "exp")
	if iat < before || iat > after {
		t.Errorf("iat %d not within [%d, %d]", iat, before, after)
	}
	if ttl := shared.Info().TokenTTLSeconds; exp-iat != ttl {
		t.Errorf("exp - iat = %d, want the token TTL %d", exp-iat, ttl)
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("no jti")
	}
	// The token is accepted by the workspace as the service principal.
	me := do(t, "GET", shared.Info().WorkspaceURL+"/api/2.0/preview/scim/v2/Me", token, nil)
	wantStatus(t, me, http.StatusOK)
	if me.body["userName"] != sp.ClientID {
		t.Errorf("SCIM Me userName = %v, want %s", me.body["userName"], sp.ClientID)
	}
}

// TestOAuthAuthorizeErrorPages covers errors about the client or the
// redirect URI, which must not redirect anywhere (RFC 6749 4.1.2.1).
func TestOAuthAuthorizeErrorPages(t *testing.T) {
	_, challenge := oauthPKCE(t)
	tests := []struct {
		name, clientID, redirectURI, mention string
	}{
		{"unknown client", "no-such-client", oauthCLIRedirect, "Unknown client_id"},
		{"no client_id", "", oauthCLIRedirect, "Unknown client_id"},
		{"unregistered redirect_uri", oauthCLI, "https://evil.example/callback", "is not registered"},
		{"no redirect_uri", oauthCLI, "", "is not registered"},
		{"client without redirect URIs", shared.Info().ServicePrincipal.ClientID, oauthCLIRedirect, "is not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := oauthAuthorize(t, shared, url.Values{
				"client_id": {tt.clientID}, "redirect_uri": {tt.redirectURI}, "response_type": {"code"},
				"state": {"s1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
			})
			oauthWantErrorPage(t, r, tt.mention)
		})
	}
}

// TestOAuthAuthorizeRedirectedErrors covers errors that go back to the
// client's redirect URI, with the state echoed.
func TestOAuthAuthorizeRedirectedErrors(t *testing.T) {
	_, challenge := oauthPKCE(t)
	valid := func() url.Values {
		return url.Values{"client_id": {oauthCLI}, "redirect_uri": {oauthCLIRedirect}, "response_type": {"code"},
			"state": {"st@te 1"}, "scope": {"all-apis"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	}
	tests := []struct {
		name   string
		edit   func(url.Values)
		errMsg string
	}{
		{"no code_challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"plain method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no method", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"lowercase method", func(q url.Values) { q.Set("code_challenge_method", "s256") }, "invalid_request"},
		{"challenge not a SHA-256", func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"no response_type", func(q url.Values) { q.Del("response_type") }, "unsupported_response_type"},
		{"unknown scope", func(q url.Values) { q.Set("scope", "all-apis root") }, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := valid()
			tt.edit(q)
			params := oauthRedirected(t, oauthAuthorize(t, shared, q), oauthCLIRedirect)
			if params.Get("error") != tt.errMsg {
				t.Errorf("error = %q, want %q (%v)", params.Get("error"), tt.errMsg, params)
			}
			if params.Get("error_description") == "" {
				t.Error("no error_description")
			}
			if params.Get("state") != "st@te 1" {
				t.Errorf("state = %q, want it echoed", params.Get("state"))
			}
			if params.Has("code") {
				t.Error("an error redirect carries a code")
			}
		})
	}
}

// TestOAuthAuthorizeCLIRedirectURIs checks which loopback redirect URIs the
// databricks-cli public client may use.
func TestOAuthAuthorizeCLIRedirectURIs(t *testing.T) {
	_, challenge := oauthPKCE(t)
	tests := []struct {
		uri string
		ok  bool
	}{
		{"http://localhost:8020", true},
		{"http://localhost:8040", true},
		{"http://localhost:8030/callback", true},
		{"http://127.0.0.1:8020", true},
		{"http://127.0.0.1:1", true},
		{"http://127.0.0.1:54321/callback", true},
		{"http://localhost:8019", false},
		{"http://localhost:8041", false},
		{"http://localhost", false},
		{"https://localhost:8020", false},
		{"http://127.0.0.1", false},
		{"http://evil.example:8020", false},
		{"http://user@127.0.0.1:8020", false},
		{"https://evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			r := oauthAuthorize(t, shared, url.Values{"client_id": {oauthCLI}, "redirect_uri": {tt.uri},
				"response_type": {"code"}, "state": {"x"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
			if !tt.ok {
				oauthWantErrorPage(t, r, "is not registered")
				return
			}
			params := oauthRedirected(t, r, tt.uri)
			if params.Get("code") == "" || params.Get("state") != "x" {
				t.Errorf("redirect params %v, want a code and state x", params)
			}
		})
	}
}

func TestOAuthAuthorizationCodeFlow(t *testing.T) {
	const scope = "sql file.files dashboards.genie offline_access"
	verifier, challenge := oauthPKCE(t)
	r := oauthAuthorize(t, shared, url.Values{
		"client_id": {oauthCLI}, "redirect_uri": {oauthCLIRedirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"af0ifjsldkj"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	})
	params := oauthRedirected(t, r, oauthCLIRedirect)
	if params.Get("state") != "af0ifjsldkj" {
		t.Errorf("state = %q, want af0ifjsldkj", params.Get("state"))
	}
	code := params.Get("code")
	if code == "" {
		t.Fatalf("no code in %v", params)
	}

	tok := postForm(t, shared, url.Values{"grant_type": {"authorization_code"}, "client_id": {oauthCLI},
		"code": {code}, "code_verifier": {verifier}, "redirect_uri": {oauthCLIRedirect}}, "", "")
	wantStatus(t, tok, http.StatusOK)
	oauthWantTokenResponse(t, tok, scope, true)

	_, claims := oauthDecodeJWT(t, tok.body["access_token"].(string))
	email := shared.Info().User.Email
	for claim, want := range map[string]any{
		"sub":            email,
		"client_id":      oauthCLI,
		"principal_type": "user",
		"iss":            shared.Info().WorkspaceURL + "/oidc",
	} {
		if claims[claim] != want {
			t.Errorf("claim %s = %v, want %v", claim, claims[claim], want)
		}
	}
	if got, want := oauthScopeSet(claims["scope"]), oauthScopeSet(scope); !slices.Equal(got, want) {
		t.Errorf("token scopes %v, want exactly %v", got, want)
	}
}

func TestOAuthAuthorizationCodeWithoutOfflineAccess(t *testing.T) {
	tok := oauthCodeFlow(t, shared, "all-apis")
	if _, ok := tok["refresh_token"]; ok {
		t.Errorf("refresh_token issued without offline_access: %v", tok)
	}
	if tok["scope"] != "all-apis" {
		t.Errorf("scope = %v, want all-apis", tok["scope"])
	}
	// The token signs the user in to the workspace.
	me := do(t, "GET", shared.Info().WorkspaceURL+"/api/2.0/preview/scim/v2/Me", tok["access_token"].(string), nil)
	wantStatus(t, me, http.StatusOK)
	if me.body["userName"] != shared.Info().User.Email {
		t.Errorf("SCIM Me userName = %v, want %s", me.body["userName"], shared.Info().User.Email)
	}
}

func TestOAuthAuthorizationCodeDefaultScope(t *testing.T) {
	verifier, challenge := oauthPKCE(t)
	params := oauthRedirected(t, oauthAuthorize(t, shared, url.Values{"client_id": {oauthCLI},
		"redirect_uri": {oauthCLIRedirect}, "response_type": {"code"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}), oauthCLIRedirect)
	if params.Has("state") {
		t.Errorf("state %q returned though none was sent", params.Get("state"))
	}
	tok := oauthRedeem(t, shared, params.Get("code"), verifier, oauthCLIRedirect)
	wantStatus(t, tok, http.StatusOK)
	oauthWantTokenResponse(t, tok, "all-apis", false)
}

func TestOAuthAuthorizationCodeSingleUse(t *testing.T) {
	code, verifier := oauthCode(t, shared, "all-apis")
	wantStatus(t, oauthRedeem(t, shared, code, verifier, oauthCLIRedirect), http.StatusOK)
	oauthWantError(t, oauthRedeem(t, shared, code, verifier, oauthCLIRedirect), 400, "invalid_grant")

	// A failed redemption burns the code too: the verifier cannot be guessed
	// at leisure.
	code, verifier = oauthCode(t, shared, "all-apis")
	wrong, _ := oauthPKCE(t)
	oauthWantError(t, oauthRedeem(t, shared, code, wrong, oauthCLIRedirect), 400, "invalid_grant")
	oauthWantError(t, oauthRedeem(t, shared, code, verifier, oauthCLIRedirect), 400, "invalid_grant")
}

func TestOAuthAuthorizationCodeRedeemErrors(t *testing.T) {
	app := shared.dir.clients[appName] // a confidential client registered in the workspace
	tests := []struct {
		name    string
		edit    func(form url.Values)
		basic   [2]string
		status  int
		errCode string
	}{
		{name: "wrong code_verifier", edit: func(f url.Values) {
			other, _ := oauthPKCE(t)
			f.Set("code_verifier", other)
		}, status: 400, errCode: "invalid_grant"},
		{name: "code_verifier too short", edit: func(f url.Values) { f.Set("code_verifier", "short") },
			status: 400, errCode: "invalid_grant"},
		{name: "code_challenge sent as verifier", edit: func(f url.Values) {
			f.Set("code_verifier", oauthChallengeOf(f.Get("code_verifier")))
		}, status: 400, errCode: "invalid_grant"},
		{name: "no code_verifier", edit: func(f url.Values) { f.Del("code_verifier") },
			status: 400, errCode: "invalid_request"},
		{name: "mismatched redirect_uri", edit: func(f url.Values) { f.Set("redirect_uri", "http://localhost:8021") },
			status: 400, errCode: "invalid_grant"},
		{name: "no redirect_uri", edit: func(f url.Values) { f.Del("redirect_uri") },
			status: 400, errCode: "invalid_grant"},
		{name: "unknown code", edit: func(f url.Values) { f.Set("code", "not-a-code") },
			status: 400, errCode: "invalid_grant"},
		{name: "no code", edit: func(f url.Values) { f.Del("code") }, status: 400, errCode: "invalid_grant"},
		{name: "redeemed by another client", edit: func(f url.Values) { f.Del("client_id") },
			basic: [2]string{app.ID, app.Secret}, status: 400, errCode: "invalid_grant"},
		{name: "no client_id", edit: func(f url.Values) { f.Del("client_id") }, status: 401, errCode: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, verifier := oauthCode(t, shared, "all-apis")
			form := url.Values{"grant_type": {"authorization_code"}, "client_id": {oauthCLI}, "code": {code},
				"code_verifier": {verifier}, "redirect_uri": {oauthCLIRedirect}}
			tt.edit(form)
			oauthWantError(t, postForm(t, shared, form, tt.basic[0], tt.basic[1]), tt.status, tt.errCode)
		})
	}
}

func TestOAuthAuthorizationCodeExpired(t *testing.T) {
	e := startEmulator(t, Config{})
	e.codeTTL = time.Millisecond // set before the emulator serves any code

	code, verifier := oauthCode(t, e, "all-apis")
	time.Sleep(20 * time.Millisecond)
	r := oauthRedeem(t, e, code, verifier, oauthCLIRedirect)
	oauthWantError(t, r, 400, "invalid_grant")
	if !strings.Contains(r.body["error_description"].(string), "expired") {
		t.Errorf("error_description %q does not say the code expired", r.body["error_description"])
	}
}

// TestOAuthRefreshTokenRotation checks that refresh tokens rotate and that
// reuse gives the exact error databricks-sdk-go recognises.
func TestOAuthRefreshTokenRotation(t *testing.T) {
	const scope = "all-apis offline_access"
	before := oauthStats(t, shared)

	first := oauthCodeFlow(t, shared, scope)
	rt0 := first["refresh_token"].(string)

	r1 := oauthRefresh(t, shared, rt0, "")
	wantStatus(t, r1, http.StatusOK)
	oauthWantTokenResponse(t, r1, scope, true)
	rt1 := r1.body["refresh_token"].(string)
	if rt1 == rt0 {
		t.Fatal("the refresh token did not rotate")
	}
	if r1.body["access_token"] == first["access_token"] {
		t.Error("the access token was not renewed")
	}
	_, claims := oauthDecodeJWT(t, r1.body["access_token"].(string))
	if claims["sub"] != shared.Info().User.Email || claims["client_id"] != oauthCLI || claims["scope"] != scope {
		t.Errorf("refreshed token claims %v, want the user's, for %s, with %q", claims, oauthCLI, scope)
	}

	// Reusing the old refresh token fails with Databricks' own words.
	reused := oauthRefresh(t, shared, rt0, "")
	oauthWantError(t, reused, 400, "invalid_grant")
	if want := map[string]any{"error": "invalid_grant", "error_description": "Refresh token is invalid"}; !oauthSameJSON(reused.body, want) {
		t.Errorf("reuse body %s, want exactly %v", reused.raw, want)
	}

	// The new one works once.
	r2 := oauthRefresh(t, shared, rt1, "")
	wantStatus(t, r2, http.StatusOK)
	oauthWantTokenResponse(t, r2, scope, true)
	oauthWantError(t, oauthRefresh(t, shared, rt1, ""), 400, "invalid_grant")

	// A token never issued is invalid but not a reuse.
	unknown := oauthRefresh(t, shared, "doau"+strings.Repeat("0", 64), "")
	oauthWantError(t, unknown, 400, "invalid_grant")
	if unknown.body["error_description"] != "Refresh token is invalid" {
		t.Errorf("unknown token: %s", unknown.raw)
	}

	after := oauthStats(t, shared)
	for name, delta := range map[string][2]int{
		"refresh_tokens_redeemed":    {after.RefreshTokensRedeemed - before.RefreshTokensRedeemed, 2},
		"refresh_tokens_reused":      {after.RefreshTokensReused - before.RefreshTokensReused, 2},
		"grants[refresh_token]":      {after.Grants["refresh_token"] - before.Grants["refresh_token"], 5},
		"grants[authorization_code]": {after.Grants["authorization_code"] - before.Grants["authorization_code"], 1},
		"tokens_issued":              {after.TokensIssued - before.TokensIssued, 3},
		"calls[token]":               {after.Calls[epToken] - before.Calls[epToken], 6},
	} {
		if delta[0] != delta[1] {
			t.Errorf("stats %s grew by %d, want %d", name, delta[0], delta[1])
		}
	}
}

func TestOAuthRefreshTokenOfAnotherClient(t *testing.T) {
	app := shared.dir.clients[appName]
	before := oauthStats(t, shared)
	rt := oauthCodeFlow(t, shared, "all-apis offline_access")["refresh_token"].(string)

	r := postForm(t, shared, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, app.ID, app.Secret)
	oauthWantError(t, r, 400, "invalid_grant")
	// The attempt did not consume it.
	wantStatus(t, oauthRefresh(t, shared, rt, ""), http.StatusOK)

	after := oauthStats(t, shared)
	if d := after.RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 1 {
		t.Errorf("refresh_tokens_redeemed grew by %d, want 1", d)
	}
	if d := after.RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh_tokens_reused grew by %d, want 0", d)
	}
}

func TestOAuthRefreshTokenScope(t *testing.T) {
	before := oauthStats(t, shared)
	rt0 := oauthCodeFlow(t, shared, "sql file.files offline_access")["refresh_token"].(string)

	// Widening is refused, and does not consume the refresh token.
	wide := oauthRefresh(t, shared, rt0, "sql all-apis")
	oauthWantError(t, wide, 400, "invalid_scope")
	if mid := oauthStats(t, shared); mid.RefreshTokensRedeemed != before.RefreshTokensRedeemed {
		t.Errorf("a refused widening counted as a redemption")
	}

	// Narrowing works, with the same refresh token.
	narrow := oauthRefresh(t, shared, rt0, "sql")
	wantStatus(t, narrow, http.StatusOK)
	if narrow.body["scope"] != "sql" {
		t.Errorf("scope = %v, want sql", narrow.body["scope"])
	}
	_, claims := oauthDecodeJWT(t, narrow.body["access_token"].(string))
	if claims["scope"] != "sql" {
		t.Errorf("narrowed token scope claim = %v, want sql", claims["scope"])
	}
	if rt, _ := narrow.body["refresh_token"].(string); rt == "" || rt == rt0 {
		t.Errorf("refresh_token %q, want a new one", rt)
	}
	// The narrowing used the token up.
	oauthWantError(t, oauthRefresh(t, shared, rt0, "sql"), 400, "invalid_grant")
	// The new refresh token still stands for the whole grant (RFC 6749 6).
	whole := oauthRefresh(t, shared, narrow.body["refresh_token"].(string), "")
	wantStatus(t, whole, http.StatusOK)
	if whole.body["scope"] != "sql file.files offline_access" {
		t.Errorf("refresh after narrowing: scope %v, want the original grant", whole.body["scope"])
	}

	after := oauthStats(t, shared)
	if d := after.RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 2 {
		t.Errorf("refresh_tokens_redeemed grew by %d, want 2", d)
	}
	if d := after.RefreshTokensReused - before.RefreshTokensReused; d != 1 {
		t.Errorf("refresh_tokens_reused grew by %d, want 1", d)
	}
}

func TestOAuthInteractiveConsent(t *testing.T) {
	e := startEmulator(t, Config{Interactive: true, UserEmail: "consent.tester@example.com"})
	email := e.Info().User.Email
	if email != "consent.tester@example.com" {
		t.Fatalf("user email %q", email)
	}

	// consent shows the page for a fresh request and returns the form's
	// target and consent id.
	consent := func(state string) (verifier string, action *url.URL, consentID string) {
		t.Helper()
		verifier, challenge := oauthPKCE(t)
		authorizeURL := e.Info().WorkspaceURL + "/oidc/v1/authorize?" + url.Values{
			"client_id": {oauthCLI}, "redirect_uri": {oauthCLIRedirect}, "response_type": {"code"},
			"scope": {"all-apis dashboards.genie"}, "state": {state},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"},
		}.Encode()
		page := do(t, "GET", authorizeURL, "", nil)
		wantStatus(t, page, http.StatusOK, `id="allow"`, `id="deny"`, email, oauthCLI, "dashboards.genie")
		if ct := page.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("consent page Content-Type %q", ct)
		}
		if cc := page.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("consent page Cache-Control %q, want no-store", cc)
		}
		if page.header.Get("Location") != "" {
			t.Errorf("consent page redirects to %s", page.header.Get("Location"))
		}
		m := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindStringSubmatch(page.raw)
		if m == nil {
			t.Fatalf("no form in %s", page.raw)
		}
		base, _ := url.Parse(authorizeURL)
		action = base.ResolveReference(&url.URL{Path: m[1]})
		id := regexp.MustCompile(`name="consent_id" value="([^"]+)"`).FindStringSubmatch(page.raw)
		if id == nil {
			t.Fatalf("no consent_id in %s", page.raw)
		}
		return verifier, action, id[1]
	}
	answer := func(action *url.URL, id, decision string) response {
		t.Helper()
		return do(t, "POST", action.String(), "", strings.NewReader(url.Values{"consent_id": {id}, "decision": {decision}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
	}

	t.Run("allow", func(t *testing.T) {
		verifier, action, id := consent("allow-state")
		if want := e.Info().WorkspaceURL + "/oidc/v1/authorize/consent"; action.String() != want {
			t.Errorf("form posts to %s, want %s", action, want)
		}
		params := oauthRedirected(t, answer(action, id, "allow"), oauthCLIRedirect)
		if params.Get("state") != "allow-state" || params.Get("code") == "" {
			t.Fatalf("redirect params %v, want a code and state allow-state", params)
		}
		tok := oauthRedeem(t, e, params.Get("code"), verifier, oauthCLIRedirect)
		wantStatus(t, tok, http.StatusOK)
		oauthWantTokenResponse(t, tok, "all-apis dashboards.genie", false)
		if _, claims := oauthDecodeJWT(t, tok.body["access_token"].(string)); claims["sub"] != email {
			t.Errorf("sub = %v, want %s", claims["sub"], email)
		}
		// The consent cannot be given twice.
		oauthWantErrorPage(t, answer(action, id, "allow"), "already answered")
	})
	t.Run("deny", func(t *testing.T) {
		_, action, id := consent("deny-state")
		params := oauthRedirected(t, answer(action, id, "deny"), oauthCLIRedirect)
		if params.Get("error") != "access_denied" || params.Get("state") != "deny-state" || params.Has("code") {
			t.Errorf("redirect params %v, want error=access_denied, state deny-state and no code", params)
		}
		oauthWantErrorPage(t, answer(action, id, "allow"), "already answered")
	})
	t.Run("unknown consent id", func(t *testing.T) {
		action, _ := url.Parse(e.Info().WorkspaceURL + "/oidc/v1/authorize/consent")
		oauthWantErrorPage(t, answer(action, "made-up", "allow"), "unknown")
	})
	t.Run("bad requests still fail before consent", func(t *testing.T) {
		params := oauthRedirected(t, oauthAuthorize(t, e, url.Values{"client_id": {oauthCLI},
			"redirect_uri": {oauthCLIRedirect}, "response_type": {"code"}, "state": {"s"}}), oauthCLIRedirect)
		if params.Get("error") != "invalid_request" {
			t.Errorf("redirect params %v, want error=invalid_request", params)
		}
	})
}

func TestParseOAuthApp(t *testing.T) {
	good := []struct {
		in   string
		want OAuthApp
	}{
		{"my-app=http://localhost:3000/callback",
			OAuthApp{ClientID: "my-app", RedirectURIs: []string{"http://localhost:3000/callback"}}},
		{"my-app=http://127.0.0.1:8080/cb,https://app.example.com/oauth/callback?x=1",
			OAuthApp{ClientID: "my-app", RedirectURIs: []string{"http://127.0.0.1:8080/cb", "https://app.example.com/oauth/callback?x=1"}}},
		{"my-app=http://localhost/cb?a=b=c", // only the first '=' separates
			OAuthApp{ClientID: "my-app", RedirectURIs: []string{"http://localhost/cb?a=b=c"}}},
	}
	for _, tt := range good {
		got, err := ParseOAuthApp(tt.in)
		if err != nil {
			t.Errorf("ParseOAuthApp(%q): %v", tt.in, err)
			continue
		}
		if got.ClientID != tt.want.ClientID || got.ClientSecret != "" || !slices.Equal(got.RedirectURIs, tt.want.RedirectURIs) {
			t.Errorf("ParseOAuthApp(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{
		"",
		"my-app",
		"=http://localhost/cb",
		"my-app=",
		"my-app=/callback",
		"my-app=//localhost/callback",
		"my-app=localhost:3000/callback",
		"my-app=http://localhost/cb,",
		"my-app=http://localhost/cb,,http://localhost/other",
		"my-app=http://",
		"my-app=http://bad host/cb",
	} {
		if got, err := ParseOAuthApp(in); err == nil {
			t.Errorf("ParseOAuthApp(%q) = %+v, want an error", in, got)
		}
	}
}

func TestOAuthRegisteredApp(t *testing.T) {
	const (
		publicRedirect       = "http://127.0.0.1:5173/oauth/callback"
		confidentialRedirect = "https://myapp.example.com/callback"
		confidentialSecret   = "s3cr3t/with+chars&="
	)
	public, err := ParseOAuthApp("my-spa=" + publicRedirect)
	if err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, Config{OAuthApps: []OAuthApp{public,
		{ClientID: "my-backend", ClientSecret: confidentialSecret, RedirectURIs: []string{confidentialRedirect}}}})
	_, challenge := oauthPKCE(t)
	authorize := func(clientID, redirectURI string) response {
		return oauthAuthorize(t, e, url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI},
			"response_type": {"code"}, "scope": {"all-apis offline_access"}, "state": {"reg"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	}

	t.Run("exact redirect URI only", func(t *testing.T) {
		for _, uri := range []string{
			publicRedirect + "/", publicRedirect + "?x=1", "http://127.0.0.1:5174/oauth/callback",
			"http://localhost:5173/oauth/callback", "http://127.0.0.1:5173/oauth", oauthCLIRedirect,
			confidentialRedirect, // another app's
		} {
			oauthWantErrorPage(t, authorize("my-spa", uri), "is not registered")
		}
	})

	t.Run("public app code flow", func(t *testing.T) {
		verifier, challenge := oauthPKCE(t)
		params := oauthRedirected(t, oauthAuthorize(t, e, url.Values{"client_id": {"my-spa"},
			"redirect_uri": {publicRedirect}, "response_type": {"code"}, "scope": {"all-apis offline_access"},
			"state": {"reg"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}), publicRedirect)
		tok := postForm(t, e, url.Values{"grant_type": {"authorization_code"}, "client_id": {"my-spa"},
			"code": {params.Get("code")}, "code_verifier": {verifier}, "redirect_uri": {publicRedirect}}, "", "")
		wantStatus(t, tok, http.StatusOK)
		oauthWantTokenResponse(t, tok, "all-apis offline_access", true)
		_, claims := oauthDecodeJWT(t, tok.body["access_token"].(string))
		if claims["sub"] != e.Info().User.Email || claims["client_id"] != "my-spa" {
			t.Errorf("claims %v, want sub %s and client_id my-spa", claims, e.Info().User.Email)
		}
		// Its refresh token is its own.
		r := postForm(t, e, url.Values{"grant_type": {"refresh_token"}, "client_id": {"my-spa"},
			"refresh_token": {tok.body["refresh_token"].(string)}}, "", "")
		wantStatus(t, r, http.StatusOK)
	})

	t.Run("confidential app authenticates", func(t *testing.T) {
		redeem := func(user, password string) response {
			verifier, challenge := oauthPKCE(t)
			params := oauthRedirected(t, oauthAuthorize(t, e, url.Values{"client_id": {"my-backend"},
				"redirect_uri": {confidentialRedirect}, "response_type": {"code"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}}), confidentialRedirect)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {params.Get("code")},
				"code_verifier": {verifier}, "redirect_uri": {confidentialRedirect}}
			if user == "" {
				form.Set("client_id", "my-backend")
			}
			return postForm(t, e, form, user, password)
		}
		oauthWantError(t, redeem("", ""), 401, "invalid_client")
		oauthWantError(t, redeem("my-backend", "wrong"), 401, "invalid_client")
		// RFC 6749 2.3.1: the Basic credentials are form-urlencoded.
		ok := redeem(url.QueryEscape("my-backend"), url.QueryEscape(confidentialSecret))
		wantStatus(t, ok, http.StatusOK)
		oauthWantTokenResponse(t, ok, "all-apis", false)
		// A confidential app has no client_credentials grant: it is no principal.
		cc := postForm(t, e, url.Values{"grant_type": {"client_credentials"}}, "my-backend", url.QueryEscape(confidentialSecret))
		oauthWantError(t, cc, 400, "unauthorized_client")
	})
}

// TestOAuthTokenEndpointErrors checks the RFC 6749 5.2 shape of the token
// endpoint's errors.
func TestOAuthTokenEndpointErrors(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	tests := []struct {
		name    string
		send    func(t *testing.T) response
		status  int
		errCode string
	}{
		{"GET", func(t *testing.T) response {
			return do(t, "GET", shared.Info().WorkspaceURL+"/oidc/v1/token?grant_type=client_credentials", "", nil)
		}, 405, "invalid_request"},
		{"no grant_type", func(t *testing.T) response {
			return postForm(t, shared, url.Values{}, sp.ClientID, sp.ClientSecret)
		}, 400, "invalid_request"},
		{"password grant", func(t *testing.T) response {
			return postForm(t, shared, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}},
				sp.ClientID, sp.ClientSecret)
		}, 400, "unsupported_grant_type"},
		{"grant_type in the query only", func(t *testing.T) response {
			return do(t, "POST", shared.Info().WorkspaceURL+"/oidc/v1/token?grant_type=client_credentials", "",
				strings.NewReader(url.Values{"client_id": {sp.ClientID}, "client_secret": {sp.ClientSecret}}.Encode()),
				"Content-Type", "application/x-www-form-urlencoded")
		}, 400, "invalid_request"},
		{"wrong secret", func(t *testing.T) response {
			return postForm(t, shared, url.Values{"grant_type": {"client_credentials"}}, sp.ClientID, "nope")
		}, 401, "invalid_client"},
		{"refresh without a token", func(t *testing.T) response {
			return postForm(t, shared, url.Values{"grant_type": {"refresh_token"}, "client_id": {oauthCLI}}, "", "")
		}, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send(t)
			oauthWantError(t, r, tt.status, tt.errCode)
			if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestOAuthTokenEndpointTakesAForm: a body of another type is refused
// as such, however good its content.
func TestOAuthTokenEndpointTakesAForm(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sp.ClientID}, "client_secret": {sp.ClientSecret}}.Encode()
	for _, header := range [][]string{
		{"Content-Type", "application/json"},
		{"Content-Type", "text/plain"},
		nil, // no Content-Type
	} {
		body := form
		if len(header) > 0 && header[1] == "application/json" {
			body = `{"grant_type":"client_credentials","client_id":"` + sp.ClientID + `","client_secret":"` + sp.ClientSecret + `"}`
		}
		r := do(t, "POST", shared.Info().WorkspaceURL+"/oidc/v1/token", "", strings.NewReader(body), header...)
		oauthWantError(t, r, http.StatusBadRequest, "invalid_request")
		if d, _ := r.body["error_description"].(string); !strings.Contains(d, "takes a form") {
			t.Errorf("Content-Type %v: error_description %q does not say the endpoint takes a form", header, d)
		}
	}
}

// --- helpers --------------------------------------------------------------

// oauthPKCE returns a fresh PKCE code verifier and its S256 challenge.
func oauthPKCE(t *testing.T) (verifier, challenge string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	return verifier, oauthChallengeOf(verifier)
}

// oauthChallengeOf is the S256 code challenge of verifier (RFC 7636 4.2).
func oauthChallengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// oauthAuthorize sends GET /oidc/v1/authorize without following redirects.
func oauthAuthorize(t *testing.T, e *Emulator, q url.Values) response {
	t.Helper()
	return do(t, "GET", e.Info().WorkspaceURL+"/oidc/v1/authorize?"+q.Encode(), "", nil)
}

// oauthRedirected checks that r is a 302 to redirectURI and returns the
// parameters it adds.
func oauthRedirected(t *testing.T, r response, redirectURI string) url.Values {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302 to %s; body %s", r.status, redirectURI, r.raw)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", r.header.Get("Location"), err)
	}
	want, _ := url.Parse(redirectURI)
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

// oauthWantErrorPage checks that r is the authorize endpoint's HTML error
// page, mentioning mention, and redirects nowhere.
func oauthWantErrorPage(t *testing.T, r response, mention string) {
	t.Helper()
	wantStatus(t, r, http.StatusBadRequest, "Sign-in error", mention)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("error page redirects to %s", loc)
	}
}

// oauthCode runs the authorize step for databricks-cli (non-interactive
// emulator) and returns the code and its verifier.
func oauthCode(t *testing.T, e *Emulator, scope string) (code, verifier string) {
	t.Helper()
	verifier, challenge := oauthPKCE(t)
	params := oauthRedirected(t, oauthAuthorize(t, e, url.Values{"client_id": {oauthCLI},
		"redirect_uri": {oauthCLIRedirect}, "response_type": {"code"}, "scope": {scope}, "state": {"st"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}), oauthCLIRedirect)
	if params.Get("code") == "" || params.Get("state") != "st" {
		t.Fatalf("authorize redirect params %v, want a code and state st", params)
	}
	return params.Get("code"), verifier
}

// oauthRedeem exchanges a databricks-cli authorization code.
func oauthRedeem(t *testing.T, e *Emulator, code, verifier, redirectURI string) response {
	t.Helper()
	return postForm(t, e, url.Values{"grant_type": {"authorization_code"}, "client_id": {oauthCLI},
		"code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirectURI}}, "", "")
}

// oauthCodeFlow signs the user in with databricks-cli and returns the token
// response.
func oauthCodeFlow(t *testing.T, e *Emulator, scope string) map[string]any {
	t.Helper()
	code, verifier := oauthCode(t, e, scope)
	r := oauthRedeem(t, e, code, verifier, oauthCLIRedirect)
	wantStatus(t, r, http.StatusOK)
	return r.body
}

// oauthRefresh redeems a databricks-cli refresh token, asking for scope
// unless it is empty.
func oauthRefresh(t *testing.T, e *Emulator, refreshToken, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {oauthCLI}, "refresh_token": {refreshToken}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(t, e, form, "", "")
}

// oauthWantTokenResponse checks a successful token response (RFC 6749 5.1).
func oauthWantTokenResponse(t *testing.T, r response, scope string, wantRefresh bool) {
	t.Helper()
	if r.body["token_type"] != "Bearer" {
		t.Errorf("token_type = %v, want Bearer", r.body["token_type"])
	}
	if tok, _ := r.body["access_token"].(string); strings.Count(tok, ".") != 2 {
		t.Errorf("access_token %q is not a JWT", tok)
	}
	if exp, ok := r.body["expires_in"].(float64); !ok || exp <= 0 {
		t.Errorf("expires_in = %v, want a positive number", r.body["expires_in"])
	}
	if r.body["scope"] != scope {
		t.Errorf("scope = %v, want %q", r.body["scope"], scope)
	}
	rt, has := r.body["refresh_token"]
	switch {
	case wantRefresh && (!has || rt == ""):
		t.Errorf("no refresh_token: %s", r.raw)
	case !wantRefresh && has:
		t.Errorf("unexpected refresh_token: %s", r.raw)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

// oauthWantError checks an RFC 6749 5.2 error response: JSON with exactly
// error and error_description, not to be cached.
func oauthWantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if r.body["error"] != code {
		t.Errorf("error = %v, want %s; body %s", r.body["error"], code, r.raw)
	}
	if d, _ := r.body["error_description"].(string); d == "" {
		t.Errorf("no error_description: %s", r.raw)
	}
	if len(r.body) != 2 {
		t.Errorf("body %s has fields besides error and error_description", r.raw)
	}
}

// oauthDecodeJWT returns a JWT's header and payload, unverified.
func oauthDecodeJWT(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	for i, into := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatalf("JWT part %d: %v in %s", i, err, raw)
		}
	}
	return header, claims
}

// oauthNumber reads a numeric JSON claim.
func oauthNumber(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	f, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%s = %v, want a number", key, m[key])
	}
	return int64(f)
}

// oauthStrings reads a JSON array of strings.
func oauthStrings(t *testing.T, m map[string]any, key string) []string {
	t.Helper()
	list, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s = %v, want an array", key, m[key])
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s holds %v, not a string", key, v)
		}
		out = append(out, s)
	}
	return out
}

// oauthScopeSet returns the sorted scopes of a space-separated scope value.
func oauthScopeSet(scope any) []string {
	s, _ := scope.(string)
	fields := strings.Fields(s)
	slices.Sort(fields)
	return fields
}

// oauthSameJSON reports whether a decoded JSON object equals want.
func oauthSameJSON(got, want map[string]any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}

// oauthStats reads /_emulator/stats.
func oauthStats(t *testing.T, e *Emulator) Stats {
	t.Helper()
	r := do(t, "GET", e.Info().AdminURL+"/stats", "", nil)
	wantStatus(t, r, http.StatusOK)
	var s Stats
	if err := json.Unmarshal([]byte(r.raw), &s); err != nil {
		t.Fatalf("stats: %v in %s", err, r.raw)
	}
	return s
}

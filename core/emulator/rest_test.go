package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// restUserToken signs the emulator's user in with the authorization-code
// flow and PKCE, as databricks-cli does, and returns the access token. The
// redirect to the loopback callback is not followed: the code is read from
// its Location.
func restUserToken(t *testing.T, e *Emulator, scope string) string {
	t.Helper()
	verifier := randomID(48) // 64 characters of [A-Za-z0-9_-]
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	const redirectURI = "http://127.0.0.1:53682/callback"
	q := url.Values{
		"client_id":             {"databricks-cli"},
		"redirect_uri":          {redirectURI},
		"response_type":         {"code"},
		"scope":                 {scope},
		"state":                 {"rest-state"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	r := do(t, "GET", e.Info().WorkspaceURL+"/oidc/v1/authorize?"+q.Encode(), "", nil)
	if r.status != http.StatusFound {
		t.Fatalf("authorize: %d %s", r.status, r.raw)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("authorize redirected to %s, want %s", loc, redirectURI)
	}
	if loc.Query().Get("state") != "rest-state" || loc.Query().Get("error") != "" {
		t.Fatalf("authorize redirect %s: want state and no error", loc)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize redirect %s has no code", loc)
	}
	tr := postForm(t, e, url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {"databricks-cli"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}, "", "")
	if tr.status != http.StatusOK {
		t.Fatalf("authorization_code: %d %s", tr.status, tr.raw)
	}
	token, _ := tr.body["access_token"].(string)
	if token == "" {
		t.Fatalf("authorization_code: no access_token in %s", tr.raw)
	}
	return token
}

// restClaims decodes a JWT's payload without verifying it.
func restClaims(t *testing.T, token string) Claims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT payload %s: %v", raw, err)
	}
	return c
}

// restAPI calls the shared workspace's API at path, with a JSON body when
// body is not empty.
func restAPI(t *testing.T, method, path, bearer, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return do(t, method, shared.Info().WorkspaceURL+path, bearer, rd, "Content-Type", "application/json")
}

// restApp calls the shared emulator's app at path.
func restApp(t *testing.T, method, path, bearer string, body io.Reader, header ...string) response {
	t.Helper()
	return do(t, method, shared.Info().AppURL+path, bearer, body, header...)
}

// restWantError fails unless r is a Databricks REST error: the status, a
// JSON body of exactly error_code and message, the code, and a message
// mentioning every one of substrings.
func restWantError(t *testing.T, r response, status int, code string, substrings ...string) {
	t.Helper()
	wantStatus(t, r, status, substrings...)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want application/json; body %s", ct, r.raw)
	}
	if len(r.body) != 2 {
		t.Fatalf("error body %s: want exactly error_code and message", r.raw)
	}
	if got, _ := r.body["error_code"].(string); got != code {
		t.Fatalf("error_code %q, want %q; body %s", got, code, r.raw)
	}
	if msg, _ := r.body["message"].(string); msg == "" {
		t.Fatalf("error body %s has no message", r.raw)
	}
}

// restString returns the string at a path of keys in a decoded JSON body.
func restString(body map[string]any, keys ...string) string {
	var v any = body
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// restTamper returns token with one character of the segment at index part
// changed (in the middle, away from base64 padding bits).
func restTamper(token string, part int) string {
	parts := strings.Split(token, ".")
	b := []byte(parts[part])
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	parts[part] = string(b)
	return strings.Join(parts, ".")
}

// restMintDatabaseCredential mints a Lakebase Provisioned credential for the
// shared instance.
func restMintDatabaseCredential(t *testing.T, e *Emulator, bearer string) string {
	t.Helper()
	r := do(t, "POST", e.Info().WorkspaceURL+"/api/2.0/database/credentials", bearer,
		strings.NewReader(`{"instance_names":["`+e.Info().Lakebase.Instance+`"]}`))
	wantStatus(t, r, http.StatusOK)
	token, _ := r.body["token"].(string)
	if token == "" {
		t.Fatalf("no token in %s", r.raw)
	}
	return token
}

const restMePath = "/api/2.0/preview/scim/v2/Me"

func TestRESTSCIMMe(t *testing.T) {
	info := shared.Info()
	t.Run("service principal", func(t *testing.T) {
		r := restAPI(t, "GET", restMePath, m2mToken(t, shared, info.ServicePrincipal, "all-apis"), "")
		wantStatus(t, r, http.StatusOK)
		if got := restString(r.body, "userName"); got != info.ServicePrincipal.ClientID {
			t.Errorf("userName %q, want the client id %q", got, info.ServicePrincipal.ClientID)
		}
		if got := restString(r.body, "displayName"); got != info.ServicePrincipal.DisplayName {
			t.Errorf("displayName %q, want %q", got, info.ServicePrincipal.DisplayName)
		}
		if got := restString(r.body, "id"); got != "2001" {
			t.Errorf("id %q, want 2001", got)
		}
		if r.body["active"] != true {
			t.Errorf("active %v, want true", r.body["active"])
		}
		if _, ok := r.body["emails"]; ok {
			t.Errorf("a service principal has emails: %s", r.raw)
		}
	})
	t.Run("user", func(t *testing.T) {
		r := restAPI(t, "GET", restMePath, restUserToken(t, shared, "all-apis offline_access"), "")
		wantStatus(t, r, http.StatusOK)
		if got := restString(r.body, "userName"); got != info.User.Email {
			t.Errorf("userName %q, want %q", got, info.User.Email)
		}
		if got := restString(r.body, "id"); got != "1001" {
			t.Errorf("id %q, want 1001", got)
		}
		emails, _ := r.body["emails"].([]any)
		if len(emails) != 1 || restString(emails[0].(map[string]any), "value") != info.User.Email {
			t.Errorf("emails %v, want [%s]", r.body["emails"], info.User.Email)
		}
		schemas, _ := r.body["schemas"].([]any)
		if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:schemas:core:2.0:User" {
			t.Errorf("schemas %v", r.body["schemas"])
		}
	})
}

func TestRESTUnauthenticated(t *testing.T) {
	info := shared.Info()
	good := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	// A well-formed token from another workspace: signed with another key.
	other := startEmulator(t, Config{})
	foreign := m2mToken(t, other, other.Info().ServicePrincipal, "all-apis")
	credential := restMintDatabaseCredential(t, shared, good)

	// A token whose payload claims a different principal, signature untouched.
	parts := strings.Split(good, ".")
	c := restClaims(t, good)
	c.Subject = info.User.Email
	payload, _ := json.Marshal(c)
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	cases := []struct {
		name   string
		header string // the whole Authorization header; empty sends none
		want   []string
	}{
		{"no header", "", []string{"Bearer"}},
		{"basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte(info.ServicePrincipal.ClientID+":"+info.ServicePrincipal.ClientSecret)), []string{"Bearer"}},
		{"token scheme", "Token " + good, []string{"Bearer"}},
		{"bearer without token", "Bearer ", []string{"Bearer"}},
		{"garbage", "Bearer not-a-token", []string{"Invalid access token", "not a Databricks OAuth token"}},
		{"three garbage segments", "Bearer a.b.c", []string{"Invalid access token"}},
		{"tampered signature", "Bearer " + restTamper(good, 2), []string{"Invalid access token", "bad signature"}},
		{"tampered payload", "Bearer " + forged, []string{"Invalid access token", "bad signature"}},
		{"other workspace's token", "Bearer " + foreign, []string{"Invalid access token", "bad signature"}},
		{"lakebase credential", "Bearer " + credential, []string{"Invalid access token", "Lakebase database credential"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.header != "" {
				header = []string{"Authorization", tc.header}
			}
			r := do(t, "GET", info.WorkspaceURL+restMePath, "", nil, header...)
			restWantError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", tc.want...)
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("lowercase bearer scheme is accepted", func(t *testing.T) {
		r := do(t, "GET", info.WorkspaceURL+restMePath, "", nil, "Authorization", "bearer "+good)
		wantStatus(t, r, http.StatusOK)
	})
	t.Run("every API route authenticates", func(t *testing.T) {
		for _, route := range []struct{ method, path string }{
			{"GET", restMePath},
			{"POST", "/api/2.0/database/credentials"},
			{"POST", "/api/2.0/postgres/credentials"},
			{"GET", "/api/2.0/database/instances/" + info.Lakebase.Instance},
			{"GET", "/api/2.0/postgres/" + info.Lakebase.Endpoint},
			{"GET", "/api/2.0/apps/" + info.AppName},
		} {
			r := restAPI(t, route.method, route.path, "", `{}`)
			restWantError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
			r = restAPI(t, route.method, route.path, credential, `{}`)
			restWantError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "Lakebase")
		}
	})
}

func TestRESTScopes(t *testing.T) {
	sp := shared.Info().ServicePrincipal
	sqlOnly := m2mToken(t, shared, sp, "sql")
	meOnly := m2mToken(t, shared, sp, "iam.current-user:read")

	r := restAPI(t, "GET", restMePath, sqlOnly, "")
	restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", "all-apis or iam.current-user:read", "(it has: sql)")

	for _, route := range []struct{ method, path, body string }{
		{"POST", "/api/2.0/database/credentials", `{"instance_names":["lakelink-demo"]}`},
		{"POST", "/api/2.0/postgres/credentials", `{"endpoint":"` + endpointName + `"}`},
		{"GET", "/api/2.0/database/instances/lakelink-demo", ""},
		{"GET", "/api/2.0/postgres/" + endpointName, ""},
		{"GET", "/api/2.0/apps/" + appName, ""},
	} {
		for _, token := range []string{sqlOnly, meOnly} {
			r := restAPI(t, route.method, route.path, token, route.body)
			restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", "required scopes: all-apis")
		}
	}

	r = restAPI(t, "GET", restMePath, meOnly, "")
	wantStatus(t, r, http.StatusOK)
	if got := restString(r.body, "userName"); got != sp.ClientID {
		t.Errorf("userName %q, want %q", got, sp.ClientID)
	}
	// all-apis together with narrower scopes is still all-apis.
	r = restAPI(t, "GET", "/api/2.0/database/instances/lakelink-demo", m2mToken(t, shared, sp, "sql all-apis"), "")
	wantStatus(t, r, http.StatusOK)
}

// restWantTimeNear fails unless got lies within [want-slack, want+1s].
func restWantTimeNear(t *testing.T, what string, got, want time.Time, slack time.Duration) {
	t.Helper()
	if got.Before(want.Add(-slack)) || got.After(want.Add(time.Second)) {
		t.Errorf("%s %s, want about %s", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339))
	}
}

func TestRESTDatabaseCredentials(t *testing.T) {
	info := shared.Info()
	spToken := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	const path = "/api/2.0/database/credentials"

	t.Run("service principal", func(t *testing.T) {
		start := time.Now()
		r := restAPI(t, "POST", path, spToken, `{"instance_names":["lakelink-demo"],"request_id":"r-1"}`)
		wantStatus(t, r, http.StatusOK)
		token, expiration := restString(r.body, "token"), restString(r.body, "expiration_time")
		if token == "" {
			t.Fatalf("no token: %s", r.raw)
		}
		exp, err := time.Parse(time.RFC3339, expiration)
		if err != nil {
			t.Fatalf("expiration_time %q is not RFC 3339: %v", expiration, err)
		}
		restWantTimeNear(t, "expiration_time", exp, start.Add(time.Hour), 5*time.Second)
		c := restClaims(t, token)
		if c.Subject != info.ServicePrincipal.ClientID || c.Kind != kindServicePrincipal {
			t.Errorf("principal %q (%s), want %q (service_principal)", c.Subject, c.Kind, info.ServicePrincipal.ClientID)
		}
		if c.Target != "instance/lakelink-demo" {
			t.Errorf("lakebase_target %q, want instance/lakelink-demo", c.Target)
		}
		if c.Audience != "lakebase" || c.Expiry != exp.Unix() || c.Issuer != info.WorkspaceURL+"/oidc" {
			t.Errorf("claims %+v: want aud lakebase, exp %d, iss %s/oidc", c, exp.Unix(), info.WorkspaceURL)
		}
	})
	t.Run("user", func(t *testing.T) {
		r := restAPI(t, "POST", path, restUserToken(t, shared, "all-apis"), `{"instance_names":["lakelink-demo"]}`)
		wantStatus(t, r, http.StatusOK)
		c := restClaims(t, restString(r.body, "token"))
		if c.Subject != info.User.Email || c.Kind != kindUser || c.Target != "instance/lakelink-demo" {
			t.Errorf("claims %+v: want the user %s for instance/lakelink-demo", c, info.User.Email)
		}
	})
	t.Run("claims without instance names", func(t *testing.T) {
		r := restAPI(t, "POST", path, spToken, `{"claims":[{"permission_set":"READ_ONLY","resources":[{"table_name":"main.default.t"}]}]}`)
		wantStatus(t, r, http.StatusOK)
		if c := restClaims(t, restString(r.body, "token")); c.Target != "instance/lakelink-demo" {
			t.Errorf("lakebase_target %q", c.Target)
		}
	})

	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		want       []string
	}{
		{"empty object", `{}`, 400, "INVALID_PARAMETER_VALUE", []string{"instance_names or claims"}},
		{"empty lists", `{"instance_names":[],"claims":[]}`, 400, "INVALID_PARAMETER_VALUE", []string{"instance_names or claims"}},
		{"unknown instance", `{"instance_names":["nope"]}`, 404, "RESOURCE_DOES_NOT_EXIST", []string{"'nope'"}},
		{"one unknown instance of two", `{"instance_names":["lakelink-demo","other"]}`, 404, "RESOURCE_DOES_NOT_EXIST", []string{"'other'"}},
		{"malformed JSON", `{"instance_names":`, 400, "MALFORMED_REQUEST", []string{"JSON"}},
		{"wrong type", `{"instance_names":"lakelink-demo"}`, 400, "MALFORMED_REQUEST", []string{"JSON"}},
		{"empty body", ``, 400, "MALFORMED_REQUEST", []string{"JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := restAPI(t, "POST", path, spToken, tc.body)
			restWantError(t, r, tc.status, tc.code, tc.want...)
		})
	}

	t.Run("outsider", func(t *testing.T) {
		r := restAPI(t, "POST", path, m2mToken(t, shared, info.Outsider, "all-apis"), `{"instance_names":["lakelink-demo"]}`)
		restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", info.Outsider.ClientID, "permission to connect", "lakelink-demo")
	})
}

func TestRESTPostgresCredentials(t *testing.T) {
	info := shared.Info()
	spToken := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	const path = "/api/2.0/postgres/credentials"
	endpoint := info.Lakebase.Endpoint

	mint := func(t *testing.T, body string) (Claims, time.Time) {
		t.Helper()
		r := restAPI(t, "POST", path, spToken, body)
		wantStatus(t, r, http.StatusOK)
		exp, err := time.Parse(time.RFC3339Nano, restString(r.body, "expire_time"))
		if err != nil {
			t.Fatalf("expire_time in %s: %v", r.raw, err)
		}
		c := restClaims(t, restString(r.body, "token"))
		if c.Expiry != exp.Unix() {
			t.Errorf("exp claim %d, expire_time %s", c.Expiry, exp)
		}
		return c, exp
	}

	t.Run("endpoint", func(t *testing.T) {
		start := time.Now()
		c, exp := mint(t, `{"endpoint":"`+endpoint+`"}`)
		restWantTimeNear(t, "expire_time", exp, start.Add(time.Hour), 5*time.Second)
		if c.Subject != info.ServicePrincipal.ClientID || c.Kind != kindServicePrincipal {
			t.Errorf("principal %q (%s)", c.Subject, c.Kind)
		}
		if c.Target != "endpoint/"+endpoint {
			t.Errorf("lakebase_target %q, want endpoint/%s", c.Target, endpoint)
		}
	})
	t.Run("ttl 600s", func(t *testing.T) {
		start := time.Now()
		_, exp := mint(t, `{"endpoint":"`+endpoint+`","ttl":"600s"}`)
		restWantTimeNear(t, "expire_time", exp, start.Add(600*time.Second), 5*time.Second)
	})
	t.Run("expire_time in 10 minutes", func(t *testing.T) {
		at := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
		_, exp := mint(t, `{"endpoint":"`+endpoint+`","expire_time":"`+at.Format(time.RFC3339)+`"}`)
		restWantTimeNear(t, "expire_time", exp, at, 5*time.Second)
	})
	t.Run("user", func(t *testing.T) {
		r := restAPI(t, "POST", path, restUserToken(t, shared, "all-apis"), `{"endpoint":"`+endpoint+`"}`)
		wantStatus(t, r, http.StatusOK)
		if c := restClaims(t, restString(r.body, "token")); c.Subject != info.User.Email || c.Kind != kindUser {
			t.Errorf("claims %+v, want the user", c)
		}
	})

	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		want       []string
	}{
		{"missing endpoint", `{}`, 400, "INVALID_PARAMETER_VALUE", []string{"endpoint is required"}},
		{"unknown endpoint", `{"endpoint":"projects/x/branches/y/endpoints/z"}`, 404, "RESOURCE_DOES_NOT_EXIST", []string{"projects/x/branches/y/endpoints/z"}},
		{"ttl too short", `{"endpoint":"` + endpoint + `","ttl":"10s"}`, 400, "INVALID_PARAMETER_VALUE", []string{"between 300 and 3600"}},
		{"ttl too long", `{"endpoint":"` + endpoint + `","ttl":"7200s"}`, 400, "INVALID_PARAMETER_VALUE", []string{"between 300 and 3600"}},
		{"ttl zero", `{"endpoint":"` + endpoint + `","ttl":"0s"}`, 400, "INVALID_PARAMETER_VALUE", []string{"between 300 and 3600"}},
		{"ttl and expire_time", `{"endpoint":"` + endpoint + `","ttl":"600s","expire_time":"` +
			time.Now().Add(10*time.Minute).UTC().Format(time.RFC3339) + `"}`, 400, "INVALID_PARAMETER_VALUE", []string{"not both"}},
		{"trailing data", `{"endpoint":"` + endpoint + `"} {}`, 400, "MALFORMED_REQUEST", []string{"data after the JSON value"}},
		{"expire_time in the past", `{"endpoint":"` + endpoint + `","expire_time":"` + past + `"}`, 400, "INVALID_PARAMETER_VALUE", []string{"between 300 and 3600"}},
		{"ttl not a duration", `{"endpoint":"` + endpoint + `","ttl":"ten minutes"}`, 400, "MALFORMED_REQUEST", nil},
		{"malformed JSON", `{"endpoint"`, 400, "MALFORMED_REQUEST", []string{"JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := restAPI(t, "POST", path, spToken, tc.body)
			restWantError(t, r, tc.status, tc.code, tc.want...)
		})
	}

	t.Run("outsider", func(t *testing.T) {
		r := restAPI(t, "POST", path, m2mToken(t, shared, info.Outsider, "all-apis"), `{"endpoint":"`+endpoint+`"}`)
		restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", info.Outsider.ClientID, "permission to connect")
	})
}

func TestRESTDatabaseInstance(t *testing.T) {
	token := m2mToken(t, shared, shared.Info().ServicePrincipal, "all-apis")
	r := restAPI(t, "GET", "/api/2.0/database/instances/lakelink-demo", token, "")
	wantStatus(t, r, http.StatusOK)
	for key, want := range map[string]string{
		"name":           shared.Info().Lakebase.Instance,
		"state":          "AVAILABLE",
		"read_write_dns": shared.Info().Lakebase.Host,
		"pg_version":     fmt.Sprintf("PG_VERSION_%d", shared.pgMajor),
		"creator":        shared.Info().User.Email,
	} {
		if got := restString(r.body, key); got != want {
			t.Errorf("%s %q, want %q", key, got, want)
		}
	}
	if !regexp.MustCompile(`^PG_VERSION_1[0-9]$`).MatchString(restString(r.body, "pg_version")) {
		t.Errorf("pg_version %q", restString(r.body, "pg_version"))
	}

	r = restAPI(t, "GET", "/api/2.0/database/instances/nope", token, "")
	restWantError(t, r, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "'nope'")
}

func TestRESTPostgresEndpoint(t *testing.T) {
	token := m2mToken(t, shared, shared.Info().ServicePrincipal, "all-apis")
	endpoint := shared.Info().Lakebase.Endpoint
	r := restAPI(t, "GET", "/api/2.0/postgres/"+endpoint, token, "")
	wantStatus(t, r, http.StatusOK)
	if got := restString(r.body, "name"); got != endpoint {
		t.Errorf("name %q, want %q", got, endpoint)
	}
	if got := restString(r.body, "status", "hosts", "host"); got != shared.Info().Lakebase.Host {
		t.Errorf("status.hosts.host %q, want %q", got, shared.Info().Lakebase.Host)
	}
	if got := restString(r.body, "status", "current_state"); got != "ACTIVE" {
		t.Errorf("status.current_state %q, want ACTIVE", got)
	}
	if got := restString(r.body, "status", "endpoint_type"); got != "ENDPOINT_TYPE_READ_WRITE" {
		t.Errorf("status.endpoint_type %q", got)
	}

	for _, p := range []string{
		"projects/lakelink-demo/branches/production/endpoints/replica",
		"projects/lakelink-demo/branches/dev/endpoints/primary",
		"projects/other/branches/production/endpoints/primary",
	} {
		r := restAPI(t, "GET", "/api/2.0/postgres/"+p, token, "")
		restWantError(t, r, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", p)
	}
}

func TestRESTApps(t *testing.T) {
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	r := restAPI(t, "GET", "/api/2.0/apps/"+info.AppName, token, "")
	wantStatus(t, r, http.StatusOK)
	for key, want := range map[string]string{
		"name":                        info.AppName,
		"url":                         info.AppURL,
		"service_principal_client_id": info.ServicePrincipal.ClientID,
		"service_principal_name":      info.ServicePrincipal.DisplayName,
	} {
		if got := restString(r.body, key); got != want {
			t.Errorf("%s %q, want %q", key, got, want)
		}
	}
	if got := restString(r.body, "app_status", "state"); got != "RUNNING" {
		t.Errorf("app_status.state %q, want RUNNING", got)
	}
	if got := fmt.Sprint(r.body["user_api_scopes"]); got != "[dashboards.genie]" {
		t.Errorf("user_api_scopes %s, want [dashboards.genie]", got)
	}
	if got := fmt.Sprint(r.body["effective_user_api_scopes"]); got != "[dashboards.genie iam.current-user:read iam.access-control:read]" {
		t.Errorf("effective_user_api_scopes %s, want the user API scopes and Databricks' two defaults", got)
	}

	r = restAPI(t, "GET", "/api/2.0/apps/nope", token, "")
	restWantError(t, r, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "nope")
}

func TestRESTUnknownPath(t *testing.T) {
	token := m2mToken(t, shared, shared.Info().ServicePrincipal, "all-apis")
	for _, tc := range []struct{ method, path, bearer string }{
		{"GET", "/api/2.0/nope", token},
		{"GET", "/api/2.0/nope", ""}, // routing comes before authentication
		{"POST", "/api/2.1/jobs/list", token},
		{"DELETE", "/api/2.0/apps/" + appName, token},
		{"GET", "/api/2.0/database/instances/lakelink-demo/extra", token},
	} {
		r := restAPI(t, tc.method, tc.path, tc.bearer, "")
		restWantError(t, r, http.StatusNotFound, "ENDPOINT_NOT_FOUND", tc.method+" "+tc.path)
	}
}

// TestRESTExpiredTokens crosses the expiry of an access token on a second
// emulator whose tokens live 2 seconds.
func TestRESTExpiredTokens(t *testing.T) {
	e := startEmulator(t, Config{TokenTTL: 2 * time.Second})
	info := e.Info()
	if info.TokenTTLSeconds != 2 {
		t.Fatalf("token_ttl_seconds %d, want 2", info.TokenTTLSeconds)
	}
	token := m2mToken(t, e, info.ServicePrincipal, "all-apis")
	me := do(t, "GET", info.WorkspaceURL+restMePath, token, nil)
	wantStatus(t, me, http.StatusOK)
	app := do(t, "GET", info.AppURL+"/api/whoami", token, nil)
	wantStatus(t, app, http.StatusOK)

	// A credential on this emulator lives TokenTTL too, whatever ttl asks.
	start := time.Now()
	r := do(t, "POST", info.WorkspaceURL+"/api/2.0/postgres/credentials", token,
		strings.NewReader(`{"endpoint":"`+info.Lakebase.Endpoint+`","ttl":"600s"}`))
	wantStatus(t, r, http.StatusOK)
	exp, err := time.Parse(time.RFC3339Nano, restString(r.body, "expire_time"))
	if err != nil {
		t.Fatal(err)
	}
	restWantTimeNear(t, "expire_time", exp, start.Add(2*time.Second), 2*time.Second)
	r = do(t, "POST", info.WorkspaceURL+"/api/2.0/database/credentials", token,
		strings.NewReader(`{"instance_names":["lakelink-demo"]}`))
	wantStatus(t, r, http.StatusOK)
	exp, err = time.Parse(time.RFC3339, restString(r.body, "expiration_time"))
	if err != nil {
		t.Fatal(err)
	}
	restWantTimeNear(t, "expiration_time", exp, start.Add(2*time.Second), 2*time.Second)

	claims := restClaims(t, token)
	time.Sleep(time.Until(claims.ExpiresAt()) + 200*time.Millisecond)

	me = do(t, "GET", info.WorkspaceURL+restMePath, token, nil)
	restWantError(t, me, http.StatusUnauthorized, "UNAUTHENTICATED", "expired at")
	app = do(t, "GET", info.AppURL+"/api/whoami", token, nil)
	restWantError(t, app, http.StatusUnauthorized, "UNAUTHENTICATED", "expired at")
	if app.header.Get("WWW-Authenticate") == "" {
		t.Error("app 401 without WWW-Authenticate")
	}
	// A fresh token works again.
	me = do(t, "GET", info.WorkspaceURL+restMePath, m2mToken(t, e, info.ServicePrincipal, "all-apis"), nil)
	wantStatus(t, me, http.StatusOK)
}

func TestRESTAppWhoami(t *testing.T) {
	info := shared.Info()
	for _, tc := range []struct {
		name, token, principal, user string
	}{
		{"service principal", m2mToken(t, shared, info.ServicePrincipal, "all-apis"), info.ServicePrincipal.ClientID, "2001@" + info.WorkspaceID},
		{"user", restUserToken(t, shared, "all-apis"), info.User.Email, "1001@" + info.WorkspaceID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := restApp(t, "GET", "/api/whoami", tc.token, nil)
			wantStatus(t, r, http.StatusOK)
			want := map[string]string{"user": tc.user, "email": tc.principal, "preferred_username": tc.principal}
			for k, v := range want {
				if got := restString(r.body, k); got != v {
					t.Errorf("%s %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestRESTAppEcho(t *testing.T) {
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	r := restApp(t, "PUT", "/api/echo?a=1&a=2&b=x%20y", token, strings.NewReader(`{"hello":"app"}`),
		"Content-Type", "application/json",
		"X-Lakelink-Test", "custom value",
		"X-Forwarded-Email", "spoofed@example.com", // the proxy must overwrite these
		"X-Forwarded-Access-Token", "spoofed",
		"X-Forwarded-Host", "spoofed.example.com")
	wantStatus(t, r, http.StatusOK)
	if got := restString(r.body, "method"); got != "PUT" {
		t.Errorf("method %q, want PUT", got)
	}
	if got := restString(r.body, "path"); got != "/api/echo" {
		t.Errorf("path %q, want /api/echo", got)
	}
	if got := restString(r.body, "body"); got != `{"hello":"app"}` {
		t.Errorf("body %q", got)
	}
	var echoed struct {
		Query   map[string][]string `json:"query"`
		Headers map[string][]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(r.raw), &echoed); err != nil {
		t.Fatal(err)
	}
	if q := echoed.Query; len(q) != 2 || strings.Join(q["a"], ",") != "1,2" || strings.Join(q["b"], ",") != "x y" {
		t.Errorf("query %v, want a=[1 2] b=[x y]", q)
	}
	h := http.Header(echoed.Headers)
	if _, ok := echoed.Headers["Authorization"]; ok || h.Get("Authorization") != "" {
		t.Errorf("the app received an Authorization header: %v", h)
	}
	for name, want := range map[string]string{
		"X-Forwarded-User":               "2001@" + info.WorkspaceID,
		"X-Forwarded-Email":              info.ServicePrincipal.ClientID,
		"X-Forwarded-Preferred-Username": info.ServicePrincipal.ClientID,
		"X-Lakelink-Test":                "custom value",
		"Content-Type":                   "application/json",
	} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("header %s %q, want [%q]", name, got, want)
		}
	}
	if h.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id in %v", h)
	}
	if h.Get("X-Forwarded-Access-Token") != "" || h.Get("X-Forwarded-Host") != "" {
		t.Errorf("client-sent X-Forwarded-* headers reached the app: %v", h)
	}

	// For a user, the platform forwards a token of the user for the app,
	// restricted to the app's user API scopes (user authorization).
	userToken := restUserToken(t, shared, "all-apis")
	r = restApp(t, "GET", "/api/echo", userToken, nil)
	wantStatus(t, r, http.StatusOK)
	json.Unmarshal([]byte(r.raw), &echoed)
	restWantForwarded(t, shared, http.Header(echoed.Headers), userToken, info.User.Email, restForwardedScope)

	// GET without a body echoes an empty one.
	r = restApp(t, "GET", "/api/echo", token, nil)
	wantStatus(t, r, http.StatusOK)
	if restString(r.body, "method") != "GET" || restString(r.body, "body") != "" {
		t.Errorf("echo %s", r.raw)
	}
}

func TestRESTAppGenie(t *testing.T) {
	info := shared.Info()
	t.Run("user with dashboards.genie", func(t *testing.T) {
		r := restApp(t, "GET", "/api/genie", restUserToken(t, shared, "all-apis dashboards.genie"), nil)
		wantStatus(t, r, http.StatusOK, info.User.Email)
	})
	t.Run("service principal with dashboards.genie", func(t *testing.T) {
		r := restApp(t, "GET", "/api/genie", m2mToken(t, shared, info.ServicePrincipal, "dashboards.genie"), nil)
		wantStatus(t, r, http.StatusOK, info.ServicePrincipal.ClientID)
	})
	t.Run("user with all-apis only", func(t *testing.T) {
		r := restApp(t, "GET", "/api/genie", restUserToken(t, shared, "all-apis"), nil)
		restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", "dashboards.genie", "/api/genie")
	})
	t.Run("other routes need no user scope", func(t *testing.T) {
		r := restApp(t, "GET", "/api/whoami", m2mToken(t, shared, info.ServicePrincipal, "sql"), nil)
		wantStatus(t, r, http.StatusOK)
	})
}

func TestRESTAppAccess(t *testing.T) {
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	t.Run("outsider", func(t *testing.T) {
		r := restApp(t, "GET", "/api/whoami", m2mToken(t, shared, info.Outsider, "all-apis"), nil)
		restWantError(t, r, http.StatusForbidden, "PERMISSION_DENIED", "CAN USE", info.Outsider.ClientID, info.AppName)
	})
	t.Run("unknown route", func(t *testing.T) {
		r := restApp(t, "GET", "/api/nope", token, nil)
		restWantError(t, r, http.StatusNotFound, "NOT_FOUND", "/api/nope")
	})
	t.Run("no token", func(t *testing.T) {
		r := restApp(t, "GET", "/api/whoami", "", nil)
		restWantError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("garbage token", func(t *testing.T) {
		r := restApp(t, "GET", "/api/whoami", "garbage", nil)
		restWantError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "Invalid access token")
	})
	t.Run("lakebase credential", func(t *testing.T) {
		r := restApp(t, "GET", "/api/whoami", restMintDatabaseCredential(t, shared, token), nil)
		restWantError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", "Lakebase")
	})
}

func TestRESTAppLoginRedirect(t *testing.T) {
	info := shared.Info()
	for _, path := range []string{"/", "/index.html", "/dashboard/42"} {
		t.Run(path, func(t *testing.T) {
			r := restApp(t, "GET", path, "", nil)
			if r.status != http.StatusFound {
				t.Fatalf("status %d, want 302; body %s", r.status, r.raw)
			}
			loc, err := url.Parse(r.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != info.WorkspaceURL+"/oidc/v1/authorize" {
				t.Fatalf("redirect to %s, want the workspace's /oidc/v1/authorize", loc)
			}
			q := loc.Query()
			for k, want := range map[string]string{
				"client_id":             info.AppName,
				"redirect_uri":          info.AppURL + "/.auth/callback",
				"response_type":         "code",
				"code_challenge_method": "S256",
				"scope":                 "all-apis offline_access dashboards.genie",
			} {
				if got := q.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(q.Get("code_challenge")) {
				t.Errorf("code_challenge %q", q.Get("code_challenge"))
			}
			// The workspace accepts the request: it answers with a code for
			// the app's callback.
			a := do(t, "GET", loc.String(), "", nil)
			if a.status != http.StatusFound {
				t.Fatalf("authorize: %d %s", a.status, a.raw)
			}
			cb, _ := url.Parse(a.header.Get("Location"))
			if !strings.HasPrefix(cb.String(), info.AppURL+"/.auth/callback?") || cb.Query().Get("code") == "" {
				t.Errorf("authorize redirected to %s, want the app's callback with a code", cb)
			}
		})
	}
	// A browser completes the sign-in: the callback redeems the code and
	// returns it, with a session cookie, where it was going; the session
	// then also serves /api/ routes.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(info.AppURL + "/dashboard/42?tab=1")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/dashboard/42" || resp.Request.URL.RawQuery != "tab=1" ||
		!strings.Contains(string(page), info.User.Email) {
		t.Fatalf("after sign-in: %d at %s: %s", resp.StatusCode, resp.Request.URL, page)
	}
	resp, err = browser.Get(info.AppURL + "/api/whoami")
	if err != nil {
		t.Fatal(err)
	}
	whoami, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(whoami), info.User.Email) {
		t.Errorf("/api/whoami with the session: %d %s", resp.StatusCode, whoami)
	}
	// A replayed or forged callback is refused.
	r := restApp(t, "GET", "/.auth/callback?state=forged&code=x", "", nil)
	if r.status != http.StatusBadRequest {
		t.Errorf("forged callback: %d, want 400", r.status)
	}

	// A token does not exempt non-API paths from the browser sign-in.
	r = restApp(t, "GET", "/", m2mToken(t, shared, info.ServicePrincipal, "all-apis"), nil)
	if r.status != http.StatusFound {
		t.Errorf("/ with a token: %d, want 302", r.status)
	}
}

// restBrowser signs a browser in to the shared app and returns it.
func restBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(shared.Info().AppURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Host != strings.TrimPrefix(shared.Info().AppURL, "http://") {
		t.Fatalf("sign-in ended with %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return browser
}

// TestRESTAppBrowserSession: a browser session carries the app's user API
// scopes and forwards its own access token, never a header the browser
// sent.
func TestRESTAppBrowserSession(t *testing.T) {
	info := shared.Info()
	browser := restBrowser(t)
	get := func(path string, header ...string) response {
		t.Helper()
		req, _ := http.NewRequest("GET", info.AppURL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
		json.Unmarshal(raw, &r.body)
		return r
	}
	forwarded := func(r response) string {
		t.Helper()
		wantStatus(t, r, http.StatusOK)
		var echoed struct{ Headers http.Header }
		json.Unmarshal([]byte(r.raw), &echoed)
		return echoed.Headers.Get("X-Forwarded-Access-Token")
	}

	wantStatus(t, get("/api/genie"), http.StatusOK, info.User.Email)
	token := forwarded(get("/api/echo"))
	claims, err := shared.signer.verify(token, time.Now())
	if err != nil || claims.Subject != info.User.Email || claims.ClientID != info.AppName || claims.Scope != restForwardedScope {
		t.Fatalf("X-Forwarded-Access-Token of a session: %v, %+v; want a token of the user for the app with scope %q",
			err, claims, restForwardedScope)
	}
	if got := forwarded(get("/api/echo", "Authorization", "Basic x")); got != token {
		t.Errorf("with a session and Authorization: Basic x, X-Forwarded-Access-Token is %q, want the session's", got)
	}
}

// restForwardedScope is the scope of the tokens forwarded by the shared
// emulator's app: its user API scope and Databricks' defaults.
const restForwardedScope = "dashboards.genie iam.current-user:read iam.access-control:read"

// restWantForwarded fails the test unless the app of e received, in h,
// one X-Forwarded-Access-Token: not the caller's token but a token of user
// for the app, with scope, expiring no later than the caller's. It
// returns that token.
func restWantForwarded(t *testing.T, e *Emulator, h http.Header, callerToken, user, scope string) string {
	t.Helper()
	values := h.Values("X-Forwarded-Access-Token")
	if len(values) != 1 || values[0] == callerToken {
		t.Fatalf("X-Forwarded-Access-Token: %d values (the caller's own token: %t), want one new token", len(values),
			len(values) > 0 && values[0] == callerToken)
	}
	claims, err := e.signer.verify(values[0], time.Now())
	caller, _ := e.signer.verify(callerToken, time.Now())
	if err != nil || claims.Subject != user || claims.Kind != kindUser || claims.ClientID != appName || claims.Target != "" ||
		claims.Scope != scope || claims.Expiry > caller.Expiry {
		t.Fatalf("X-Forwarded-Access-Token: %v, %+v; want a token of %s for the app with scope %q, expiring by %d",
			err, claims, user, scope, caller.Expiry)
	}
	return values[0]
}

package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// adminStats reads the shared emulator's /_emulator/stats.
func adminStats(t *testing.T) Stats {
	t.Helper()
	r := do(t, "GET", shared.Info().AdminURL+"/stats", "", nil)
	wantStatus(t, r, http.StatusOK)
	var s Stats
	if err := json.Unmarshal([]byte(r.raw), &s); err != nil {
		t.Fatalf("stats %s: %v", r.raw, err)
	}
	return s
}

// adminClearFaults disarms every fault of the shared emulator.
func adminClearFaults(t *testing.T) {
	t.Helper()
	r := do(t, "DELETE", shared.Info().AdminURL+"/faults", "", nil, "Content-Type", "application/json")
	if r.status != http.StatusNoContent {
		t.Fatalf("DELETE faults: %d %s", r.status, r.raw)
	}
}

// adminArm arms a fault on the shared emulator, expecting 201, and disarms
// every fault when the test ends.
func adminArm(t *testing.T, fault string) {
	t.Helper()
	t.Cleanup(func() { adminClearFaults(t) })
	r := do(t, "POST", shared.Info().AdminURL+"/faults", "", strings.NewReader(fault), "Content-Type", "application/json")
	if r.status != http.StatusCreated {
		t.Fatalf("arming %s: %d %s", fault, r.status, r.raw)
	}
}

// adminFaults lists the armed faults.
func adminFaults(t *testing.T) []Fault {
	t.Helper()
	r := do(t, "GET", shared.Info().AdminURL+"/faults", "", nil)
	wantStatus(t, r, http.StatusOK)
	var fs []Fault
	if err := json.Unmarshal([]byte(r.raw), &fs); err != nil {
		t.Fatalf("faults %s: %v", r.raw, err)
	}
	return fs
}

// adminTokenCall asks the token endpoint for a service principal token.
func adminTokenCall(t *testing.T) response {
	t.Helper()
	sp := shared.Info().ServicePrincipal
	return postForm(t, shared, url.Values{"grant_type": {"client_credentials"}, "scope": {"all-apis"}}, sp.ClientID, sp.ClientSecret)
}

// adminPGConnect logs in to the shared emulator's Lakebase gateway as the
// service principal with a Lakebase credential.
func adminPGConnect(ctx context.Context, password string) (*pgx.Conn, error) {
	info := shared.Info()
	return pgx.Connect(ctx, fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s password=%s sslmode=require connect_timeout=10",
		info.Lakebase.Port, info.Lakebase.Database, info.ServicePrincipal.ClientID, password))
}

func TestAdminStats(t *testing.T) {
	info := shared.Info()
	raw := do(t, "GET", info.AdminURL+"/stats", "", nil)
	wantStatus(t, raw, http.StatusOK)
	for _, key := range []string{"calls", "grants", "tokens_issued", "refresh_tokens_redeemed", "refresh_tokens_reused", "credentials_issued", "gateway_logins"} {
		if _, ok := raw.body[key]; !ok {
			t.Errorf("stats %s has no %q", raw.raw, key)
		}
	}

	before := adminStats(t)
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")               // token, client_credentials
	wantStatus(t, restAPI(t, "GET", restMePath, token, ""), http.StatusOK)        // scim-me
	wantStatus(t, restAPI(t, "GET", restMePath, "", ""), http.StatusUnauthorized) // scim-me, refused
	restMintDatabaseCredential(t, shared, token)                                  // database-credentials
	wantStatus(t, restAPI(t, "POST", "/api/2.0/postgres/credentials", token, `{"endpoint":"`+endpointName+`"}`), http.StatusOK)
	wantStatus(t, restAPI(t, "GET", "/api/2.0/apps/"+appName, token, ""), http.StatusOK)
	wantStatus(t, restApp(t, "GET", "/api/whoami", token, nil), http.StatusOK) // app
	wantStatus(t, postForm(t, shared, url.Values{"grant_type": {"password"}}, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret),
		http.StatusBadRequest) // token, a failed grant
	wantStatus(t, do(t, "GET", info.WorkspaceURL+"/oidc/jwks.json", "", nil), http.StatusOK)
	wantStatus(t, do(t, "GET", info.WorkspaceURL+"/.well-known/databricks-config", "", nil), http.StatusOK)
	restUserToken(t, shared, "all-apis offline_access") // authorize, token (authorization_code)
	after := adminStats(t)

	wantCalls := map[string]int{
		epToken: 3, epSCIMMe: 2, epDatabaseCredentials: 1, epPostgresCredentials: 1, epApps: 1, epApp: 1,
		epJWKS: 1, epDatabricksConfig: 1, epAuthorize: 1,
		epOAuthMetadata: 0, epDatabaseInstances: 0, epPostgresEndpoints: 0, epGateway: 0,
	}
	for ep, want := range wantCalls {
		if got := after.Calls[ep] - before.Calls[ep]; got != want {
			t.Errorf("calls[%s] grew by %d, want %d", ep, got, want)
		}
	}
	wantGrants := map[string]int{"client_credentials": 1, "other": 1, "authorization_code": 1, "refresh_token": 0}
	for g, want := range wantGrants {
		if got := after.Grants[g] - before.Grants[g]; got != want {
			t.Errorf("grants[%s] grew by %d, want %d", g, got, want)
		}
	}
	if got := after.TokensIssued - before.TokensIssued; got != 2 {
		t.Errorf("tokens_issued grew by %d, want 2", got)
	}
	if got := after.CredentialsIssued - before.CredentialsIssued; got != 2 {
		t.Errorf("credentials_issued grew by %d, want 2", got)
	}
	if _, ok := after.Grants["password"]; ok {
		t.Errorf("grants %v: an unsupported grant_type has its own key", after.Grants)
	}
	// The admin hooks themselves are not counted.
	for ep := range after.Calls {
		if strings.Contains(ep, "emulator") || strings.Contains(ep, "stats") || strings.Contains(ep, "fault") {
			t.Errorf("stats count an admin call: %v", after.Calls)
		}
	}
}

func TestAdminFaultServerError(t *testing.T) {
	adminArm(t, `{"endpoint":"token","kind":"500","count":2}`)
	if fs := adminFaults(t); len(fs) != 1 || fs[0].Endpoint != "token" || fs[0].Kind != "500" || fs[0].Count != 2 {
		t.Fatalf("armed faults %+v", fs)
	}
	before := adminStats(t)
	for i := range 2 {
		r := adminTokenCall(t)
		restWantError(t, r, http.StatusInternalServerError, "INTERNAL_ERROR", "Injected fault")
		if i == 0 {
			if fs := adminFaults(t); len(fs) != 1 || fs[0].Count != 1 {
				t.Fatalf("after one use: faults %+v, want one with count 1", fs)
			}
		}
	}
	if fs := adminFaults(t); len(fs) != 0 {
		t.Errorf("a used-up fault is still listed: %+v", fs)
	}
	r := adminTokenCall(t)
	wantStatus(t, r, http.StatusOK, "access_token")
	after := adminStats(t)
	if got := after.Calls[epToken] - before.Calls[epToken]; got != 3 {
		t.Errorf("calls[token] grew by %d, want 3 (faulted calls count)", got)
	}
	if got := after.TokensIssued - before.TokensIssued; got != 1 {
		t.Errorf("tokens_issued grew by %d, want 1", got)
	}
}

func TestAdminFaultRateLimit(t *testing.T) {
	adminArm(t, `{"endpoint":"token","kind":"429","retry_after_seconds":3}`)
	r := adminTokenCall(t)
	restWantError(t, r, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED")
	if got := r.header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3", got)
	}
	wantStatus(t, adminTokenCall(t), http.StatusOK)

	// Retry-After defaults to 1 second.
	adminArm(t, `{"endpoint":"token","kind":"429"}`)
	r = adminTokenCall(t)
	restWantError(t, r, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("default Retry-After %q, want 1", got)
	}
}

func TestAdminFaultMalformed(t *testing.T) {
	adminArm(t, `{"endpoint":"token","kind":"malformed"}`)
	r := adminTokenCall(t)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200", r.status)
	}
	if json.Valid([]byte(r.raw)) {
		t.Errorf("body %q parses as JSON", r.raw)
	}
	wantStatus(t, adminTokenCall(t), http.StatusOK, "access_token")
}

func TestAdminFaultHang(t *testing.T) {
	adminArm(t, `{"endpoint":"token","kind":"hang","duration":"1s"}`)
	start := time.Now()
	r := adminTokenCall(t)
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("hung call took %s, want at least 1s", elapsed)
	}
	wantStatus(t, r, http.StatusOK, "access_token")
	// Without the fault the call is quick again.
	start = time.Now()
	wantStatus(t, adminTokenCall(t), http.StatusOK)
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("unfaulted call took %s", elapsed)
	}

	// A client that gives up first sees a timeout.
	adminArm(t, `{"endpoint":"token","kind":"hang","duration":"1s"}`)
	sp := shared.Info().ServicePrincipal
	req, _ := http.NewRequest("POST", shared.Info().WorkspaceURL+"/oidc/v1/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sp.ClientID, sp.ClientSecret)
	impatient := &http.Client{Timeout: 200 * time.Millisecond}
	start = time.Now()
	resp, err := impatient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a client with a 200ms timeout got %d from a hung endpoint", resp.StatusCode)
	}
	var netErr interface{ Timeout() bool }
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
		t.Errorf("the impatient client waited %s", elapsed)
	}
	// The abandoned call used the fault up.
	if fs := adminFaults(t); len(fs) != 0 {
		t.Errorf("faults %+v, want none", fs)
	}
	wantStatus(t, adminTokenCall(t), http.StatusOK)
}

func TestAdminFaultOtherEndpoints(t *testing.T) {
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")

	t.Run("scim-me", func(t *testing.T) {
		adminArm(t, `{"endpoint":"scim-me","kind":"500"}`)
		restWantError(t, restAPI(t, "GET", restMePath, token, ""), http.StatusInternalServerError, "INTERNAL_ERROR")
		wantStatus(t, restAPI(t, "GET", restMePath, token, ""), http.StatusOK)
	})
	t.Run("database-credentials", func(t *testing.T) {
		adminArm(t, `{"endpoint":"database-credentials","kind":"429","retry_after_seconds":2}`)
		body := `{"instance_names":["lakelink-demo"]}`
		r := restAPI(t, "POST", "/api/2.0/database/credentials", token, body)
		restWantError(t, r, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED")
		if r.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2", r.header.Get("Retry-After"))
		}
		wantStatus(t, restAPI(t, "POST", "/api/2.0/database/credentials", token, body), http.StatusOK, "token")
	})
	t.Run("postgres-credentials", func(t *testing.T) {
		adminArm(t, `{"endpoint":"postgres-credentials","kind":"malformed"}`)
		body := `{"endpoint":"` + endpointName + `"}`
		r := restAPI(t, "POST", "/api/2.0/postgres/credentials", token, body)
		if r.status != http.StatusOK || json.Valid([]byte(r.raw)) {
			t.Errorf("malformed fault: %d %q", r.status, r.raw)
		}
		wantStatus(t, restAPI(t, "POST", "/api/2.0/postgres/credentials", token, body), http.StatusOK, "expire_time")
	})
	t.Run("app", func(t *testing.T) {
		adminArm(t, `{"endpoint":"app","kind":"500"}`)
		restWantError(t, restApp(t, "GET", "/api/whoami", token, nil), http.StatusInternalServerError, "INTERNAL_ERROR")
		wantStatus(t, restApp(t, "GET", "/api/whoami", token, nil), http.StatusOK)
	})
	t.Run("other endpoints are unaffected", func(t *testing.T) {
		adminArm(t, `{"endpoint":"apps","kind":"500","count":5}`)
		wantStatus(t, restAPI(t, "GET", restMePath, token, ""), http.StatusOK)
		wantStatus(t, adminTokenCall(t), http.StatusOK)
		wantStatus(t, restApp(t, "GET", "/api/whoami", token, nil), http.StatusOK)
		if fs := adminFaults(t); len(fs) != 1 || fs[0].Count != 5 {
			t.Errorf("faults %+v, want the apps fault untouched", fs)
		}
		restWantError(t, restAPI(t, "GET", "/api/2.0/apps/"+appName, token, ""), http.StatusInternalServerError, "INTERNAL_ERROR")
	})
	t.Run("queued in order", func(t *testing.T) {
		adminArm(t, `{"endpoint":"token","kind":"500"}`)
		adminArm(t, `{"endpoint":"token","kind":"429"}`)
		wantStatus(t, adminTokenCall(t), http.StatusInternalServerError)
		wantStatus(t, adminTokenCall(t), http.StatusTooManyRequests)
		wantStatus(t, adminTokenCall(t), http.StatusOK)
	})
}

func TestAdminFaultsListAndClear(t *testing.T) {
	t.Cleanup(func() { adminClearFaults(t) })
	if fs := adminFaults(t); len(fs) != 0 {
		t.Fatalf("faults armed before the test: %+v", fs)
	}
	r := do(t, "GET", shared.Info().AdminURL+"/faults", "", nil)
	if strings.TrimSpace(r.raw) != "[]" {
		t.Errorf("no faults listed as %q, want []", r.raw)
	}

	r = do(t, "POST", shared.Info().AdminURL+"/faults", "", strings.NewReader(`{"endpoint":"token","kind":"hang","duration":"2s"}`), "Content-Type", "application/json")
	wantStatus(t, r, http.StatusCreated)
	if r.body["count"] != 1.0 || r.body["duration"] != "2s" {
		t.Errorf("created fault %s: want count 1 (the default) and duration 2s", r.raw)
	}
	adminArm(t, `{"endpoint":"scim-me","kind":"429","count":3}`)
	adminArm(t, `{"endpoint":"gateway","kind":"drop"}`)
	adminArm(t, `{"endpoint":"app","kind":"malformed"}`)

	fs := adminFaults(t)
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s/%s/%d", f.Endpoint, f.Kind, f.Count))
	}
	want := "app/malformed/1 gateway/drop/1 scim-me/429/3 token/hang/1"
	if strings.Join(got, " ") != want {
		t.Errorf("faults %v, want %s", got, want)
	}
	if fs[2].RetryAfterSeconds != 1 {
		t.Errorf("scim-me 429 retry_after_seconds %d, want the default 1", fs[2].RetryAfterSeconds)
	}

	r = do(t, "DELETE", shared.Info().AdminURL+"/faults", "", nil, "Content-Type", "application/json")
	if r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	if fs := adminFaults(t); len(fs) != 0 {
		t.Errorf("faults after DELETE: %+v", fs)
	}
	// Nothing misbehaves any more.
	wantStatus(t, adminTokenCall(t), http.StatusOK)
}

func TestAdminFaultValidation(t *testing.T) {
	t.Cleanup(func() { adminClearFaults(t) })
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unknown endpoint", `{"endpoint":"nope","kind":"500"}`, []string{`unknown endpoint "nope"`, "scim-me", "gateway"}},
		{"missing endpoint", `{"kind":"500"}`, []string{`unknown endpoint ""`}},
		{"unknown kind", `{"endpoint":"token","kind":"teapot"}`, []string{`kind "teapot"`, "500, 429, hang, malformed"}},
		{"missing kind", `{"endpoint":"token"}`, []string{`kind ""`}},
		{"drop on an HTTP endpoint", `{"endpoint":"token","kind":"drop"}`, []string{`kind "drop"`}},
		{"500 on the gateway", `{"endpoint":"gateway","kind":"500"}`, []string{`kind "500"`, "gateway supports only", "drop"}},
		{"hang on the gateway", `{"endpoint":"gateway","kind":"hang","duration":"1s"}`, []string{"gateway supports only"}},
		{"hang without a duration", `{"endpoint":"token","kind":"hang"}`, []string{"duration", "hang needs a positive"}},
		{"hang with a bad duration", `{"endpoint":"token","kind":"hang","duration":"soon"}`, []string{`duration "soon"`}},
		{"hang with a negative duration", `{"endpoint":"token","kind":"hang","duration":"-1s"}`, []string{`duration "-1s"`}},
		{"negative count", `{"endpoint":"token","kind":"500","count":-1}`, []string{"count -1"}},
		{"unknown field", `{"endpoint":"token","kind":"500","colour":"red"}`, []string{"unknown field", "colour"}},
		{"duration as a number", `{"endpoint":"token","kind":"hang","duration":1}`, []string{"duration"}},
		{"not JSON", `endpoint=token`, []string{"Could not parse"}},
		{"empty body", ``, []string{"Could not parse"}},
		{"two values", `{"endpoint":"token","kind":"500"} {}`, []string{"data after the JSON value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", shared.Info().AdminURL+"/faults", "", strings.NewReader(tc.body), "Content-Type", "application/json")
			if r.status != http.StatusBadRequest || (r.body["error_code"] != "INVALID_PARAMETER_VALUE" && r.body["error_code"] != "MALFORMED_REQUEST") {
				t.Fatalf("%d %s, want 400 INVALID_PARAMETER_VALUE or MALFORMED_REQUEST", r.status, r.raw)
			}
			msg, _ := r.body["message"].(string)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
	if fs := adminFaults(t); len(fs) != 0 {
		t.Errorf("a refused fault was armed: %+v", fs)
	}
}

func TestAdminGatewayDrop(t *testing.T) {
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	password := restMintDatabaseCredential(t, shared, token)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	before := adminStats(t)
	adminArm(t, `{"endpoint":"gateway","kind":"drop","count":1}`)
	conn, err := adminPGConnect(ctx, password)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("connected through a dropping gateway")
	}
	t.Logf("dropped connection: %v", err)
	mid := adminStats(t)
	if got := mid.Calls[epGateway] - before.Calls[epGateway]; got != 1 {
		t.Errorf("calls[gateway] grew by %d after the dropped attempt, want 1", got)
	}
	if mid.GatewayLogins != before.GatewayLogins {
		t.Errorf("gateway_logins changed by a dropped connection: %+v -> %+v", before.GatewayLogins, mid.GatewayLogins)
	}
	if fs := adminFaults(t); len(fs) != 0 {
		t.Errorf("faults %+v, want the drop used up", fs)
	}

	conn, err = adminPGConnect(ctx, password)
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	defer conn.Close(ctx)
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != info.ServicePrincipal.ClientID {
		t.Errorf("current_user %q, want %q", user, info.ServicePrincipal.ClientID)
	}
	after := adminStats(t)
	if got := after.GatewayLogins.Accepted - before.GatewayLogins.Accepted; got != 1 {
		t.Errorf("gateway_logins.accepted grew by %d, want 1", got)
	}
	if got := after.GatewayLogins.Refused - before.GatewayLogins.Refused; got != 0 {
		t.Errorf("gateway_logins.refused grew by %d, want 0", got)
	}
	if got := after.Calls[epGateway] - before.Calls[epGateway]; got != 2 {
		t.Errorf("calls[gateway] grew by %d, want 2", got)
	}
}

func TestAdminUnknownPath(t *testing.T) {
	r := do(t, "GET", shared.Info().AdminURL+"/nope", "", nil)
	if r.status != http.StatusNotFound {
		t.Errorf("GET /_emulator/nope: %d, want 404", r.status)
	}
	r = do(t, "PUT", shared.Info().AdminURL+"/faults", "", strings.NewReader(`{}`))
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT /_emulator/faults: %d, want 405", r.status)
	}
}

// TestAdminRefusesWebPages: a web page the developer visits must not drive
// the emulator. A cross-origin form or fetch can send a "simple" request
// (text/plain, no preflight), and DNS rebinding gives a page a host name of
// its own that resolves to 127.0.0.1: so the admin endpoint takes only
// requests addressed to a loopback host at the emulator's port, and a
// change of state only with Content-Type application/json (which a browser
// sends cross-origin only after a CORS preflight the emulator never grants).
func TestAdminRefusesWebPages(t *testing.T) {
	t.Cleanup(func() { adminClearFaults(t) })
	admin := shared.Info().AdminURL
	port := strings.TrimPrefix(shared.Info().WorkspaceURL, "http://127.0.0.1:")
	const fault = `{"endpoint":"token","kind":"500"}`
	send := func(method, path, host, contentType, body string) response {
		t.Helper()
		req, err := http.NewRequest(method, admin+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return send(t, req)
	}

	for name, tc := range map[string]struct{ method, path, host, contentType string }{
		"text/plain POST":             {"POST", "/faults", "", "text/plain;charset=UTF-8"},
		"form POST":                   {"POST", "/faults", "", "application/x-www-form-urlencoded"},
		"POST without a type":         {"POST", "/faults", "", ""},
		"DELETE without a type":       {"DELETE", "/faults", "", ""},
		"restart without a type":      {"POST", "/postgres/restart", "evil.example", ""},
		"foreign Host":                {"POST", "/faults", "evil.example", "application/json"},
		"foreign Host, loopback port": {"POST", "/faults", "evil.example:" + port, "application/json"},
		"foreign Host reading stats":  {"GET", "/stats", "evil.example:" + port, ""},
		"loopback Host, other port":   {"POST", "/faults", "127.0.0.1:1", "application/json"},
	} {
		t.Run(name, func(t *testing.T) {
			r := send(tc.method, tc.path, tc.host, tc.contentType, fault)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%d %s, want a refusal", r.status, r.raw)
			}
			if fs := adminFaults(t); len(fs) != 0 && tc.method == "POST" {
				t.Errorf("a fault was armed: %+v", fs)
			}
		})
	}
	// What the emulator's own clients send is accepted, addressed by any
	// loopback name.
	for _, host := range []string{"", "localhost:" + port, "127.0.0.2:" + port, "[::1]:" + port} {
		r := send("POST", "/faults", host, "application/json; charset=utf-8", fault)
		wantStatus(t, r, http.StatusCreated)
		r = send("DELETE", "/faults", host, "application/json", "")
		wantStatus(t, r, http.StatusNoContent)
		r = send("GET", "/stats", host, "", "")
		wantStatus(t, r, http.StatusOK)
	}
}

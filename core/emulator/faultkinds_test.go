package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The fault kinds and hooks the reliability suite (core/auth/fault_test.go,
// core/lakebase/reliability_test.go) relies on.

func TestAdminFaultHuge(t *testing.T) {
	adminArm(t, `{"endpoint":"token","kind":"huge"}`)
	r := adminTokenCall(t)
	if r.status != http.StatusOK || len(r.raw) != hugeBodySize {
		t.Fatalf("huge fault: %d, %d bytes; want 200 and %d bytes", r.status, len(r.raw), hugeBodySize)
	}
	if !json.Valid([]byte(r.raw)) {
		t.Error("the huge body is not JSON")
	}
	wantStatus(t, adminTokenCall(t), http.StatusOK)
}

func TestAdminFaultCutEndsSessionAfterLogin(t *testing.T) {
	adminArm(t, `{"endpoint":"gateway","kind":"cut","duration":"500ms"}`)
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	conn, err := adminPGConnect(context.Background(), credential(t, shared, token))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	start := time.Now()
	_, err = conn.Exec(context.Background(), "SELECT pg_sleep(10)")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("a query on a cut session: %v after %s; want an error after about 500ms", err, time.Since(start))
	}
	if !conn.IsClosed() {
		t.Error("the cut session is still open")
	}
	// The fault was used up: the next session lives.
	next, err := adminPGConnect(context.Background(), credential(t, shared, token))
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close(context.Background())
	if _, err := next.Exec(context.Background(), "SELECT pg_sleep(1)"); err != nil {
		t.Errorf("the next session: %v", err)
	}
}

func TestAdminFaultCutValidation(t *testing.T) {
	r := do(t, "POST", shared.Info().AdminURL+"/faults", "", strings.NewReader(`{"endpoint":"gateway","kind":"cut"}`), "Content-Type", "application/json")
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "cut needs a positive") {
		t.Errorf("a cut without a duration: %d %s", r.status, r.raw)
	}
	r = do(t, "POST", shared.Info().AdminURL+"/faults", "", strings.NewReader(`{"endpoint":"token","kind":"cut","duration":"1s"}`), "Content-Type", "application/json")
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "huge") {
		t.Errorf("a cut on an HTTP endpoint: %d %s", r.status, r.raw)
	}
	adminClearFaults(t)
}

// TestAdminStatsCountOpenConnections: the open counts follow connections
// as they open and close.
func TestAdminStatsCountOpenConnections(t *testing.T) {
	e := startEmulator(t, Config{})
	client := &http.Client{Transport: &http.Transport{}}
	before := e.Stats().Open
	sp := e.Info().ServicePrincipal
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest("POST", e.Info().WorkspaceURL+"/oidc/v1/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sp.ClientID, sp.ClientSecret)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The server counts the connection once its handler has returned,
	// which may be just after the client has read the answer.
	waitFor(t, func() bool { return e.Stats().Open.Workspace == before.Workspace+1 })
	client.CloseIdleConnections()
	waitFor(t, func() bool { return e.Stats().Open.Workspace == before.Workspace })

	token := m2mToken(t, e, sp, "all-apis")
	conn, err := pgConnect(e, sp.ClientID, credential(t, e, token), "sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Stats().Open.Gateway; got != before.Gateway+1 {
		t.Errorf("open gateway sessions: %d, want %d", got, before.Gateway+1)
	}
	conn.Close(context.Background())
	waitFor(t, func() bool { return e.Stats().Open.Gateway == before.Gateway })
}

// waitFor waits up to 5 s for cond.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}

// TestRestartPostgres restarts an emulator's own cluster: sessions open
// end, new ones work, and /_emulator/postgres/restart does the same.
func TestRestartPostgres(t *testing.T) {
	e, err := Start(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	token := m2mToken(t, e, e.Info().ServicePrincipal, "all-apis")
	conn, err := pgConnect(e, e.Info().ServicePrincipal.ClientID, credential(t, e, token), "sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := e.RestartPostgres(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a session opened before the restart still works")
	}
	pgLogin(t, e, e.Info().ServicePrincipal.ClientID, credential(t, e, token), "sslmode=require")

	r := do(t, "POST", e.Info().AdminURL+"/postgres/restart", "", nil, "Content-Type", "application/json")
	wantStatus(t, r, http.StatusNoContent)
	pgLogin(t, e, e.Info().ServicePrincipal.ClientID, credential(t, e, token), "sslmode=require")
	if n := e.Stats().PostgresRestarts; n != 2 {
		t.Errorf("postgres_restarts %d, want 2", n)
	}

	// An emulator on a server it did not start refuses.
	other := startEmulator(t, Config{})
	r = do(t, "POST", other.Info().AdminURL+"/postgres/restart", "", nil, "Content-Type", "application/json")
	wantStatus(t, r, http.StatusConflict, "--postgres-url")
}

// TestAdminFaultMalformedBody: a malformed fault answers the body the test
// chose (a credential cut short, say); no other kind takes one.
func TestAdminFaultMalformedBody(t *testing.T) {
	info := shared.Info()
	token := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	const cut = `{"token": "cut-credential", "expiration_time": `
	adminArm(t, `{"endpoint":"database-credentials","kind":"malformed","body":`+jsonString(cut)+`}`)
	r := restAPI(t, "POST", "/api/2.0/database/credentials", token, `{"instance_names":["lakelink-demo"]}`)
	if r.status != http.StatusOK || r.raw != cut {
		t.Errorf("malformed fault with a body: %d %q, want 200 %q", r.status, r.raw, cut)
	}
	r = do(t, "POST", info.AdminURL+"/faults", "", strings.NewReader(`{"endpoint":"token","kind":"500","body":"x"}`),
		"Content-Type", "application/json")
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "body") {
		t.Errorf("a 500 fault with a body: %d %s", r.status, r.raw)
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

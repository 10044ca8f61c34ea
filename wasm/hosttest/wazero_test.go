//go:build !race

// Package hosttest runs lakelink.wasm in wazero, a pure-Go WebAssembly
// runtime, with the lakelink.http import served by net/http, against the
// emulator: the module's whole ABI from a host's side.
//
// It is left out of race-detector builds: wazero's compiler, itself
// instrumented, then takes minutes for a module this size, and the guest
// is not Go code the detector sees. make test-wasm runs it.
package hosttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/emulator"
)

var (
	emu      *emulator.Emulator
	wasmRT   wazero.Runtime
	compiled wazero.CompiledModule
)

// TestMain starts the emulator and compiles the module: $LAKELINK_WASM
// (make test passes build/out/lakelink.wasm), else one built here.
func TestMain(m *testing.M) {
	flag.Parse()
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	path := os.Getenv("LAKELINK_WASM")
	if path == "" {
		dir, err := os.MkdirTemp("", "lakelink-wasm-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "lakelink.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, "github.com/lakelink/lakelink/wasm")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("building lakelink.wasm: %v\n%s", err, out)
		}
	}
	binary, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	wasmRT = wazero.NewRuntime(ctx)
	defer wasmRT.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, wasmRT)
	if _, err := wasmRT.NewHostModuleBuilder("lakelink").NewFunctionBuilder().WithFunc(hostHTTP).Export("http").Instantiate(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	if compiled, err = wasmRT.CompileModule(ctx, binary); err != nil {
		return 0, fmt.Errorf("compiling %s: %v", path, err)
	}
	fmt.Printf("lakelink.wasm: %d bytes, compiled by wazero in %s\n", len(binary), time.Since(start).Round(time.Millisecond))

	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	emu, err = emulator.Start(sctx, emulator.Config{})
	cancel()
	if err != nil {
		return 0, fmt.Errorf("starting the emulator: %v", err)
	}
	defer emu.Close()
	return m.Run(), nil
}

// hostHTTP is the lakelink.http import, as wasm/README.md specifies it,
// served with net/http: no redirects followed, the timeout honoured.
func hostHTTP(ctx context.Context, m api.Module, p, n uint32) uint64 {
	type request struct {
		Method    string              `json:"method"`
		URL       string              `json:"url"`
		Headers   map[string][]string `json:"headers"`
		Body      []byte              `json:"body"`
		TimeoutMS int64               `json:"timeout_ms"`
	}
	type response struct {
		Status  int                 `json:"status,omitempty"`
		Headers map[string][]string `json:"headers,omitempty"`
		Body    []byte              `json:"body,omitempty"`
		Error   string              `json:"error,omitempty"`
	}
	answer := func() response {
		raw, ok := m.Memory().Read(p, n)
		if !ok {
			return response{Error: "request out of range"}
		}
		var in request
		if err := json.Unmarshal(raw, &in); err != nil {
			return response{Error: err.Error()}
		}
		client := &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       time.Duration(in.TimeoutMS) * time.Millisecond,
		}
		req, err := http.NewRequestWithContext(ctx, in.Method, in.URL, bytes.NewReader(in.Body))
		if err != nil {
			return response{Error: err.Error()}
		}
		req.Header = in.Headers
		resp, err := client.Do(req)
		if err != nil {
			return response{Error: errorText(err)}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return response{Error: errorText(err)}
		}
		return response{Status: resp.StatusCode, Headers: resp.Header, Body: body}
	}
	out, _ := json.Marshal(answer())
	return lend(ctx, m, out)
}

// errnoNames are the codes errorText puts first (wasm/README.md: the
// error text convention).
var errnoNames = map[syscall.Errno]string{syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ECONNRESET: "ECONNRESET",
	syscall.ETIMEDOUT: "ETIMEDOUT", syscall.ENETUNREACH: "ENETUNREACH", syscall.EHOSTUNREACH: "EHOSTUNREACH"}

// errorText is the import's error text for a failed request: "CODE: text"
// when the failure has an errno (or is a timeout or an unknown host).
func errorText(err error) string {
	var (
		errno  syscall.Errno
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case errors.As(err, &errno) && errnoNames[errno] != "":
		return errnoNames[errno] + ": " + err.Error()
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "ENOTFOUND: " + err.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "ETIMEDOUT: " + err.Error()
	}
	return err.Error()
}

// lend copies b into a buffer from lakelink_alloc and returns its
// address<<32 | length.
func lend(ctx context.Context, m api.Module, b []byte) uint64 {
	res, err := m.ExportedFunction("lakelink_alloc").Call(ctx, uint64(len(b)))
	if err != nil {
		panic(err)
	}
	p := uint32(res[0])
	if !m.Memory().Write(p, b) {
		panic("lakelink_alloc returned a buffer out of range")
	}
	return uint64(p)<<32 | uint64(len(b))
}

// module is one instance of lakelink.wasm: its own token cache.
type module struct {
	t *testing.T
	m api.Module
}

// instantiate makes a new instance, with env as its environment.
func instantiate(t *testing.T, env ...string) *module {
	t.Helper()
	return instantiateIn(t, "", env...)
}

// instantiateIn makes a new instance, with env as its environment and
// the directory dir (unless "") open to it at its own path.
func instantiateIn(t *testing.T, dir string, env ...string) *module {
	t.Helper()
	ctx := context.Background()
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader).WithStderr(os.Stderr)
	if dir != "" {
		cfg = cfg.WithFSConfig(wazero.NewFSConfig().WithDirMount(dir, dir))
	}
	for i := 0; i+1 < len(env); i += 2 {
		cfg = cfg.WithEnv(env[i], env[i+1])
	}
	start := time.Now()
	m, err := wasmRT.InstantiateModule(ctx, compiled, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("instantiated (with _initialize) in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { m.Close(ctx) })
	return &module{t, m}
}

// failure is the error of a response.
type failure struct {
	Code       int32  `json:"code"`
	Message    string `json:"message"`
	SQLState   string `json:"sqlstate"`
	Diagnosis  string `json:"diagnosis"`
	HTTPStatus int32  `json:"http_status"`
	Kind       string `json:"kind"`
}

// call sends one request to lakelink_call and decodes the response's
// result into result (when not nil); it returns the response's error.
func (mod *module) call(req map[string]any, result any) *failure {
	mod.t.Helper()
	ctx := context.Background()
	in, _ := json.Marshal(req)
	packed := lend(ctx, mod.m, in)
	res, err := mod.m.ExportedFunction("lakelink_call").Call(ctx, packed>>32, packed&0xffffffff)
	if err != nil {
		mod.t.Fatalf("lakelink_call(%v): %v", req["op"], err)
	}
	p, n := uint32(res[0]>>32), uint32(res[0])
	raw, ok := mod.m.Memory().Read(p, n)
	if !ok {
		mod.t.Fatalf("lakelink_call returned (%d, %d), out of range", p, n)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *failure        `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		mod.t.Fatalf("lakelink_call returned malformed JSON %q: %v", raw, err)
	}
	if _, err := mod.m.ExportedFunction("lakelink_free").Call(ctx, uint64(p)); err != nil {
		mod.t.Fatal(err)
	}
	if result != nil && out.Result != nil {
		if err := json.Unmarshal(out.Result, result); err != nil {
			mod.t.Fatalf("result %s: %v", out.Result, err)
		}
	}
	return out.Error
}

// must is call, failing the test on an error response.
func (mod *module) must(req map[string]any, result any) {
	mod.t.Helper()
	if e := mod.call(req, result); e != nil {
		mod.t.Fatalf("%v: %+v", req["op"], *e)
	}
}

func m2m() string {
	i := emu.Info()
	return fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", i.WorkspaceURL, i.ServicePrincipal.ClientID, i.ServicePrincipal.ClientSecret)
}

// noSecret fails when any of the texts holds secret.
func noSecret(t *testing.T, secret string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if secret != "" && strings.Contains(s, secret) {
			t.Fatalf("a secret leaked into %q", s)
		}
	}
}

func TestVersionAndBadRequests(t *testing.T) {
	mod := instantiate(t)
	var v struct {
		Version    string `json:"version"`
		ABIVersion int    `json:"abi_version"`
	}
	mod.must(map[string]any{"op": "version"}, &v)
	if v.ABIVersion != 3 || v.Version != lakelink.Version() {
		t.Fatalf("version: %+v, want ABI 3 and version %q (VERSION)", v, lakelink.Version())
	}
	if e := mod.call(map[string]any{"op": "nope"}, nil); e == nil || e.Code != -1 || !strings.Contains(e.Message, `unknown op "nope"`) {
		t.Fatalf("unknown op: %+v", e)
	}
	if e := mod.call(map[string]any{"op": "token", "conn": "Host=x", "typo": 1}, nil); e == nil || e.Code != -1 || !strings.Contains(e.Message, "typo") {
		t.Fatalf("unknown field: %+v", e)
	}
}

func TestNormalizeRedacts(t *testing.T) {
	mod := instantiate(t)
	secret := emu.Info().ServicePrincipal.ClientSecret
	var out struct {
		Normalized string            `json:"normalized"`
		Properties map[string]string `json:"properties"`
	}
	mod.must(map[string]any{"op": "normalize", "conn": m2m()}, &out)
	noSecret(t, secret, out.Normalized, fmt.Sprint(out.Properties))
	if !strings.Contains(out.Normalized, "OAuthClientId="+emu.Info().ServicePrincipal.ClientID) {
		t.Fatalf("normalized: %s", out.Normalized)
	}
	e := mod.call(map[string]any{"op": "normalize", "conn": "AuthScheme=Nope;Token=" + secret}, nil)
	if e == nil || e.Code != -3 || !strings.Contains(e.Message, "AuthScheme") {
		t.Fatalf("bad connection string: %+v", e)
	}
	noSecret(t, secret, e.Message)
}

// TestM2MTokenCache: the client credentials grant through the import, and
// the instance's cache: a second call sends no token request.
func TestM2MTokenCache(t *testing.T) {
	mod := instantiate(t)
	before := emu.Stats()
	var tok struct {
		AccessToken string    `json:"access_token"`
		ExpiresAt   time.Time `json:"expires_at"` // RFC 3339
	}
	mod.must(map[string]any{"op": "token", "conn": m2m()}, &tok)
	if tok.AccessToken == "" || tok.ExpiresAt.Before(time.Now()) {
		t.Fatalf("token: expires %s", tok.ExpiresAt)
	}
	var again struct {
		AccessToken string `json:"access_token"`
	}
	mod.must(map[string]any{"op": "token", "conn": m2m()}, &again)
	if again.AccessToken != tok.AccessToken {
		t.Fatal("the second call got another token: the instance did not cache it")
	}
	if d := emu.Stats().Grants["client_credentials"] - before.Grants["client_credentials"]; d != 1 {
		t.Fatalf("%d client_credentials grants, want 1", d)
	}

	bad := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=wrong-secret-123", emu.Info().WorkspaceURL, emu.Info().ServicePrincipal.ClientID)
	e := mod.call(map[string]any{"op": "token", "conn": bad}, nil)
	if e == nil || e.Code != -4 || !strings.Contains(e.Message, "invalid_client") {
		t.Fatalf("wrong secret: %+v", e)
	}
	noSecret(t, "wrong-secret-123", e.Message)
}

// TestSDKChainFromEnvironment: AuthScheme=Databricks resolves through
// databricks-sdk-go from the instance's environment, as inside an App.
func TestSDKChainFromEnvironment(t *testing.T) {
	i := emu.Info()
	mod := instantiate(t, "DATABRICKS_HOST", i.WorkspaceURL, "DATABRICKS_CLIENT_ID", i.ServicePrincipal.ClientID,
		"DATABRICKS_CLIENT_SECRET", i.ServicePrincipal.ClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mod.must(map[string]any{"op": "token", "conn": "AuthScheme=Databricks"}, &tok)
	var resp appResponse
	mod.must(map[string]any{"op": "app_request", "conn": "AuthScheme=Databricks", "app_url": i.AppURL, "url": "/api/whoami"}, &resp)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), i.ServicePrincipal.ClientID) {
		t.Fatalf("whoami: %d %s", resp.Status, resp.Body)
	}
}

type appResponse struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    []byte              `json:"body"`
}

// TestPKCEProcedures: the three OAuth procedures, then a stored login
// (InitiateOAuth=REFRESH) calling the app as the user.
func TestPKCEProcedures(t *testing.T) {
	mod := instantiate(t)
	i := emu.Info()
	conn := fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE", i.WorkspaceURL)
	callback := "http://127.0.0.1:9/callback"
	var a struct{ URL, State, PKCEVerifier string }
	mod.must(map[string]any{"op": "oauth_authorization_url", "conn": conn, "callback_url": callback,
		"scope": "all-apis offline_access", "state": "st-1"}, &a)
	if a.State != "st-1" || a.PKCEVerifier == "" || strings.Contains(a.URL, a.PKCEVerifier) {
		t.Fatalf("authorization URL: %s state %s", a.URL, a.State)
	}
	code := authorize(t, a.URL)
	if code.Query().Get("state") != "st-1" {
		t.Fatalf("callback state: %s", code)
	}
	type tokens struct {
		OAuthAccessToken, OAuthRefreshToken, Scope string
		ExpiresIn                                  int64
	}
	// The verifier is the code or the whole callback URL: another
	// sign-in's URL and a refused sign-in are reported as such.
	for _, c := range []struct{ verifier, state, want string }{
		{code.String(), "another-sign-in", "state"},
		{callback + "?error=access_denied&error_description=the+user+denied+the+request&state=st-1", "st-1",
			"access_denied: the user denied the request"},
	} {
		e := mod.call(map[string]any{"op": "oauth_access_token", "conn": conn, "verifier": c.verifier, "auth_mode": "WEB",
			"callback_url": callback, "state": c.state, "pkce_verifier": a.PKCEVerifier}, nil)
		if e == nil || e.Code != -4 || !strings.Contains(e.Message, c.want) {
			t.Fatalf("verifier %s: %+v, want an error saying %q", c.verifier, e, c.want)
		}
	}
	var first tokens
	mod.must(map[string]any{"op": "oauth_access_token", "conn": conn, "verifier": code.String(), "auth_mode": "WEB",
		"callback_url": callback, "state": "st-1", "pkce_verifier": a.PKCEVerifier}, &first)
	if first.OAuthAccessToken == "" || first.OAuthRefreshToken == "" || first.ExpiresIn <= 0 {
		t.Fatalf("access token: expires in %d, scope %s", first.ExpiresIn, first.Scope)
	}
	// A code works once.
	e := mod.call(map[string]any{"op": "oauth_access_token", "conn": conn, "verifier": code.Query().Get("code"),
		"callback_url": callback, "pkce_verifier": a.PKCEVerifier}, nil)
	if e == nil || e.Code != -4 || !strings.Contains(e.Message, "invalid_grant") {
		t.Fatalf("code reused: %+v", e)
	}
	noSecret(t, first.OAuthAccessToken, e.Message)

	var second tokens
	mod.must(map[string]any{"op": "oauth_refresh", "conn": conn, "refresh_token": first.OAuthRefreshToken}, &second)
	if second.OAuthAccessToken == "" || second.OAuthRefreshToken == "" || second.OAuthRefreshToken == first.OAuthRefreshToken {
		t.Fatal("refresh: want new tokens, the refresh token rotated")
	}

	// A stored login from the refresh token, in the instance's memory.
	stored := fmt.Sprintf("%s;InitiateOAuth=REFRESH;OAuthRefreshToken=%s;OAuthSettingsLocation=memory://wazero", conn, second.OAuthRefreshToken)
	var resp appResponse
	mod.must(map[string]any{"op": "app_request", "conn": stored, "method": "GET", "app_url": i.AppURL, "url": i.AppURL + "/api/whoami"}, &resp)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), i.User.Email) {
		t.Fatalf("whoami as the user: %d %s", resp.Status, resp.Body)
	}
}

// authorize follows the authorization URL to the emulator's authorize
// endpoint, which signs the user in at once, and returns the callback URL
// with the code.
func authorize(t *testing.T, authURL string) *url.URL {
	t.Helper()
	u, err := emulator.SignIn(context.Background(), authURL)
	if err != nil || u.Query().Get("code") == "" {
		t.Fatalf("sign-in: %v, callback %v", err, u)
	}
	return u
}

// TestAppCalls: a POST with a body and headers, a 403 with the core's
// diagnosis, and a request the core refuses before sending.
func TestAppCalls(t *testing.T) {
	mod := instantiate(t)
	i := emu.Info()
	var resp appResponse
	mod.must(map[string]any{"op": "app_request", "conn": m2m(), "method": "POST", "app_url": i.AppURL, "url": "/api/echo",
		"headers": map[string]string{"Content-Type": "application/json", "X-Test": "yes"}, "body": []byte(`{"hello":"wasm"}`)}, &resp)
	if resp.Status != 200 || !strings.Contains(string(resp.Body), "wasm") {
		t.Fatalf("echo: %d %s", resp.Status, resp.Body)
	}

	outsider := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", i.WorkspaceURL, i.Outsider.ClientID, i.Outsider.ClientSecret)
	var denied appResponse
	e := mod.call(map[string]any{"op": "app_request", "conn": outsider, "app_url": i.AppURL, "url": "/api/whoami"}, &denied)
	if e == nil || e.Code != -6 || e.HTTPStatus != 403 || e.Kind != "forbidden" || !strings.Contains(e.Diagnosis, "CAN USE") ||
		!strings.Contains(e.Diagnosis, i.Outsider.ClientID) || denied.Status != 403 {
		t.Fatalf("outsider: %+v (response %d)", e, denied.Status)
	}
	if strings.Contains(e.Message, "\n") || strings.Contains(e.Message, e.Diagnosis) {
		t.Fatalf("message %q should be one line without the diagnosis", e.Message)
	}
	noSecret(t, i.Outsider.ClientSecret, e.Message, e.Diagnosis)

	e = mod.call(map[string]any{"op": "app_request", "conn": m2m(), "app_url": i.AppURL, "url": i.AppURL + "/login"}, nil)
	if e == nil || e.Code != -6 || e.Kind != "not_api_path" {
		t.Fatalf("not an /api/ route: %+v", e)
	}
	e = mod.call(map[string]any{"op": "app_request", "conn": m2m(), "url": i.AppURL + "/api/whoami"}, nil)
	if e == nil || e.Code != -1 || !strings.Contains(e.Message, "app_url") {
		t.Fatalf("no app_url: %+v", e)
	}
}

// TestAppOtherHost: the token goes to the app_url's origin only: an
// absolute URL of another server is refused before anything is sent.
func TestAppOtherHost(t *testing.T) {
	mod := instantiate(t)
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	e := mod.call(map[string]any{"op": "app_request", "conn": m2m(), "app_url": emu.Info().AppURL, "url": other.URL + "/api/steal"}, nil)
	if e == nil || e.Code != -6 || e.Kind != "other_host" {
		t.Fatalf("other host: %+v", e)
	}
	if reached.Load() != 0 {
		t.Fatal("the other server got a request")
	}
}

// TestRoutingTable: app_request gives every row of the table of where an
// app's token may go (core/apps/testdata/routing.json, which every
// binding's tests read) its outcome, and names, for the allowed rows that
// succeed, the URL the request went to.
func TestRoutingTable(t *testing.T) {
	mod := instantiate(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "core", "apps", "testdata", "routing.json"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(emu.Info().AppURL)
	var table struct {
		Rows []struct{ App, URL, Want, Why, Sent string }
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(data), "{port}", u.Port())), &table); err != nil {
		t.Fatal(err)
	}
	for _, r := range table.Rows {
		var resp struct{ URL string }
		e := mod.call(map[string]any{"op": "app_request", "conn": m2m(), "app_url": r.App, "url": r.URL}, &resp)
		got := "allowed" // sent: the answer, or the network, may have failed
		switch {
		case e == nil:
			if resp.URL != r.Sent {
				t.Errorf("app %q, url %q (%s): sent to %q, want %q", r.App, r.URL, r.Why, resp.URL, r.Sent)
			}
		case e.Code == -1:
			got = "invalid"
		case e.Code == -6 && (e.Kind == "other_host" || e.Kind == "not_api_path"):
			got = e.Kind
		case e.Code != -6:
			got = fmt.Sprintf("error %d", e.Code)
		}
		if got != r.Want {
			t.Errorf("app %q, url %q (%s): %s (%+v), want %s", r.App, r.URL, r.Why, got, e, r.Want)
		}
	}
}

// TestAppTooLarge: an answer over the 64 MiB Do reads is an App error
// (too_large), with the answer's status, not an auth error.
func TestAppTooLarge(t *testing.T) {
	mod := instantiate(t)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 65 {
			w.Write(chunk)
		}
	}))
	defer big.Close()
	e := mod.call(map[string]any{"op": "app_request", "conn": m2m(), "app_url": big.URL, "url": "/api/big"}, nil)
	if e == nil || e.Code != -6 || e.Kind != "too_large" || e.HTTPStatus != 200 || !strings.Contains(e.Message, "larger than 64 MiB") {
		t.Fatalf("a 65 MiB answer: %+v", e)
	}
}

// TestAppNetworkDiagnosis: the host's "ECONNREFUSED: ..." becomes the Go
// error of a refused connection, which the core diagnoses as natively.
func TestAppNetworkDiagnosis(t *testing.T) {
	mod := instantiate(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	e := mod.call(map[string]any{"op": "app_request", "conn": m2m(), "app_url": "http://" + dead, "url": "/api/whoami"}, nil)
	if e == nil || e.Code != -6 || e.Kind != "network" || !strings.Contains(e.Diagnosis, "connection refused: nothing listens at "+dead) {
		t.Fatalf("refused connection: %+v", e)
	}
}

// TestTimeout: timeout_ms carries the connection's Timeout to the host,
// which gives up after it; the core reports the deadline.
func TestTimeout(t *testing.T) {
	mod := instantiate(t)
	fault(t, `{"endpoint": "token", "kind": "hang", "duration": "30s", "count": 5}`)
	start := time.Now()
	e := mod.call(map[string]any{"op": "token", "conn": m2m() + ";Timeout=2"}, nil)
	elapsed := time.Since(start)
	if e == nil || e.Code != -4 || !strings.Contains(e.Message, "deadline exceeded") {
		t.Fatalf("hanging token endpoint: %+v", e)
	}
	if elapsed < 2*time.Second || elapsed > 15*time.Second {
		t.Fatalf("gave up after %s, want about 2 s", elapsed)
	}
}

// fault arms an emulator fault (core/emulator/admin.go) until the test ends.
func fault(t *testing.T, spec string) {
	t.Helper()
	resp, err := http.Post(emu.Info().AdminURL+"/faults", "application/json", strings.NewReader(spec))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("arming %s: %s", spec, resp.Status)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, emu.Info().AdminURL+"/faults", nil)
		req.Header.Set("Content-Type", "application/json") // the admin endpoint changes state only for JSON
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// TestMemoryMisuse: buffers the module did not lend, or lengths beyond
// them, are errors, never a crash; lakelink_free ignores unknown addresses.
func TestMemoryMisuse(t *testing.T) {
	mod := instantiate(t)
	ctx := context.Background()
	call := func(p, n uint64) string {
		res, err := mod.m.ExportedFunction("lakelink_call").Call(ctx, p, n)
		if err != nil {
			t.Fatalf("lakelink_call(%d, %d) trapped: %v", p, n, err)
		}
		raw, _ := mod.m.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
		return string(raw)
	}
	in := lend(ctx, mod.m, []byte(`{"op":"version"}`))
	p, n := in>>32, in&0xffffffff
	if out := call(p, n+1); !strings.Contains(out, "is not a buffer from lakelink_alloc") {
		t.Fatalf("length beyond the buffer: %s", out)
	}
	if out := call(p+8, 4); !strings.Contains(out, "is not a buffer from lakelink_alloc") {
		t.Fatalf("address inside a buffer: %s", out)
	}
	if out := call(p, n); !strings.Contains(out, `"abi_version"`) {
		t.Fatalf("the buffer after the refusals: %s", out)
	}
	if out := call(p, n); !strings.Contains(out, "is not a buffer from lakelink_alloc") {
		t.Fatalf("a buffer used twice: %s", out)
	}
	for _, addr := range []uint64{0, 12345, p} {
		if _, err := mod.m.ExportedFunction("lakelink_free").Call(ctx, addr); err != nil {
			t.Fatalf("lakelink_free(%d): %v", addr, err)
		}
	}
	mod.must(map[string]any{"op": "version"}, nil)
}

// TestLakebaseCredential mints credentials for the instance and the
// endpoint in the module, then logs in with them through the emulator's
// gateway with pgx, as a host's own Postgres driver would.
func TestLakebaseCredential(t *testing.T) {
	mod := instantiate(t)
	i := emu.Info()
	lb := i.Lakebase
	for _, target := range []string{"Instance=" + lb.Instance, "Endpoint=" + lb.Endpoint} {
		t.Run(strings.SplitN(target, "=", 2)[0], func(t *testing.T) {
			before := emu.Stats()
			conn := fmt.Sprintf("%s;Server=%s;Port=%d;%s", m2m(), lb.Host, lb.Port, target)
			var login struct {
				Host, Database, User, Password, SSLMode string
				Port                                    int
				ExpiresAt                               *time.Time `json:"expires_at"`
			}
			mod.must(map[string]any{"op": "lakebase_credential", "conn": conn}, &login)
			if login.User != i.ServicePrincipal.ClientID || login.Password == "" || login.Port != lb.Port || login.Database != lb.Database ||
				login.SSLMode != "require" {
				t.Fatalf("login: %s@%s:%d/%s sslmode %s", login.User, login.Host, login.Port, login.Database, login.SSLMode)
			}
			if login.ExpiresAt == nil || !login.ExpiresAt.After(time.Now()) {
				t.Fatalf("expires_at %v: want the credential's expiry, in the future", login.ExpiresAt)
			}
			if d := emu.Stats().CredentialsIssued - before.CredentialsIssued; d != 1 {
				t.Fatalf("%d credentials issued, want 1", d)
			}
			var again struct{ Password string }
			mod.must(map[string]any{"op": "lakebase_credential", "conn": conn}, &again)
			if again.Password != login.Password || emu.Stats().CredentialsIssued-before.CredentialsIssued != 1 {
				t.Fatal("the credential was minted again instead of reused")
			}

			cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=require", login.Host, login.Port, login.Database, login.User))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Password = login.Password
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pg, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close(ctx)
			var user string
			if err := pg.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != login.User {
				t.Fatalf("current_user %q, %v", user, err)
			}
		})
	}
}

// TestLakebaseCAAsText: SSLServerCert given as PEM text comes back as
// sslrootcert_pem; the module has no file system for libpq's file.
func TestLakebaseCAAsText(t *testing.T) {
	mod := instantiate(t)
	lb := emu.Info().Lakebase
	pem, err := os.ReadFile(lb.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	conn := fmt.Sprintf("%s;Server=%s;Port=%d;Instance=%s;SSLMode=verify-full;SSLServerCert=\"%s\"", m2m(), lb.Host, lb.Port, lb.Instance, pem)
	var login struct {
		SSLRootCert    string `json:"sslrootcert"`
		SSLRootCertPEM string `json:"sslrootcert_pem"`
	}
	mod.must(map[string]any{"op": "lakebase_credential", "conn": conn}, &login)
	if login.SSLRootCertPEM != string(pem) || login.SSLRootCert != "" {
		t.Fatalf("sslrootcert %q, sslrootcert_pem %q", login.SSLRootCert, login.SSLRootCertPEM)
	}
}

// TestLakebaseSystemRootsInWASI: a Lakebase host is verify-full against
// the system's roots by default; the module has no file system in which to
// find the system's CA bundle, so sslrootcert is "system" (libpq 16's name
// for them), for the host to resolve.
func TestLakebaseSystemRootsInWASI(t *testing.T) {
	mod := instantiate(t)
	lb := emu.Info().Lakebase
	conn := fmt.Sprintf("%s;Server=%s;Port=%d;Instance=%s", m2m(), lb.ServerName, lb.Port, lb.Instance)
	var login struct {
		SSLMode     string `json:"sslmode"`
		SSLRootCert string `json:"sslrootcert"`
	}
	mod.must(map[string]any{"op": "lakebase_credential", "conn": conn}, &login)
	if login.SSLMode != "verify-full" || login.SSLRootCert != "system" {
		t.Fatalf("sslmode %q, sslrootcert %q", login.SSLMode, login.SSLRootCert)
	}
}

// TestNoBrowserLogin: a login that needs a browser fails at once, saying
// what works instead, rather than waiting for a callback that cannot come.
func TestNoBrowserLogin(t *testing.T) {
	mod := instantiate(t)
	conn := fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;OAuthSettingsLocation=memory://nobrowser", emu.Info().WorkspaceURL)
	for _, req := range []map[string]any{{"op": "token", "conn": conn}, {"op": "oauth_access_token", "conn": conn, "auth_mode": "APP"}} {
		e := mod.call(req, nil)
		if e == nil || e.Code != -4 || !strings.Contains(e.Message, "WASI build") || !strings.Contains(e.Message, "AuthMode=WEB") {
			t.Fatalf("%v: %+v", req, e)
		}
	}
}

func TestSQLNotAvailable(t *testing.T) {
	mod := instantiate(t)
	e := mod.call(map[string]any{"op": "sql", "conn": m2m(), "sql": "SELECT 1"}, nil)
	if e == nil || e.Code != -5 || !strings.Contains(e.Message, "not available in the WASI build") ||
		!strings.Contains(e.Message, "use the minted credential") {
		t.Fatalf("sql: %+v", e)
	}
}

//go:build !race

package hosttest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The three exports (the C library, the WASI module, the CLI's --json)
// give the same answer to the same input: each operation is written once,
// in internal/ops, and CONTRACT.md there is its JSON.

// exportsAgree holds the C program and the CLI the tests run, built once.
var exportsAgree struct {
	once    sync.Once
	program string // testdata/exports.c linked against liblakelink.so
	cli     string // the lakelink CLI
	home    string // HOME of both
	err     error
}

// agreeTools builds (or takes from $LAKELINK_LIBRARY and $LAKELINK_CLI,
// which make test-wasm sets to build/out's) the library and the CLI, and
// compiles testdata/exports.c.
func agreeTools(t *testing.T) (program, cli string) {
	t.Helper()
	a := &exportsAgree
	a.once.Do(func() {
		dir, err := os.MkdirTemp("", "lakelink-agree-")
		if err != nil {
			a.err = err
			return
		}
		a.home = filepath.Join(dir, "home")
		os.MkdirAll(a.home, 0o700)
		lib, cli := os.Getenv("LAKELINK_LIBRARY"), os.Getenv("LAKELINK_CLI")
		if lib == "" {
			lib = filepath.Join(dir, "liblakelink.so")
			if a.err = goBuild("-buildmode=c-shared", "-o", lib, "github.com/lakelink/lakelink/capi"); a.err != nil {
				return
			}
		}
		if cli == "" {
			cli = filepath.Join(dir, "lakelink")
			if a.err = goBuild("-o", cli, "github.com/lakelink/lakelink/cmd/lakelink"); a.err != nil {
				return
			}
		}
		a.cli = cli
		a.program = filepath.Join(dir, "exports")
		libDir := filepath.Dir(lib)
		args := []string{"-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I" + filepath.Join("..", "..", "capi"),
			filepath.Join("testdata", "exports.c"), "-o", a.program, "-L" + libDir, "-llakelink", "-Wl,-rpath," + libDir}
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			a.err = fmt.Errorf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.program, a.cli
}

func goBuild(args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// toolEnv is the environment of the C program and the CLI: nothing that
// changes how lakelink authenticates, and a HOME of their own.
func toolEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DATABRICKS_") || strings.HasPrefix(name, "LAKELINK_") || name == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+exportsAgree.home)
}

// answer is an answer as lakelink_call gives it, and as testdata/exports.c
// prints the C library's.
type answer struct {
	Result json.RawMessage `json:"result"`
	Error  *failure        `json:"error"`
}

// viaC runs one operation through the C library.
func viaC(t *testing.T, op string, args ...string) answer {
	t.Helper()
	return viaCWith(t, nil, op, args...)
}

// viaCWith runs one operation through the C library, with the
// environment variables env (name=value) added to toolEnv's.
func viaCWith(t *testing.T, env []string, op string, args ...string) answer {
	t.Helper()
	program, _ := agreeTools(t)
	cmd := exec.Command(program, append([]string{op}, args...)...)
	cmd.Env = append(toolEnv(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("exports %s: %v\n%s", op, err, out)
	}
	var a answer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("exports %s printed %q: %v", op, out, err)
	}
	return a
}

// viaWASI runs one operation through the WASI module.
func viaWASI(t *testing.T, mod *module, req map[string]any) answer {
	t.Helper()
	var result json.RawMessage
	e := mod.call(req, &result)
	return answer{result, e}
}

// viaCLI runs the CLI with --json and returns what it printed.
func viaCLI(t *testing.T, args ...string) json.RawMessage {
	t.Helper()
	_, cli := agreeTools(t)
	cmd := exec.Command(cli, args...)
	cmd.Env = toolEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lakelink %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// same fails unless the JSON texts hold equal values.
func same(t *testing.T, what string, texts map[string]json.RawMessage) {
	t.Helper()
	var first string
	var want any
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		var v any
		if err := json.Unmarshal(texts[name], &v); err != nil {
			t.Fatalf("%s through %s: %q: %v", what, name, texts[name], err)
		}
		if first == "" {
			first, want = name, v
		} else if !reflect.DeepEqual(v, want) {
			t.Errorf("%s:\n  %s gives %s\n  %s gives %s", what, first, texts[first], name, texts[name])
		}
	}
}

// jwt is an unsigned JWT of the claims, as the core reads tokens (never
// verifying them: the server does).
func jwt(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + ".c2ln"
}

func TestExportsAgreeOnNormalize(t *testing.T) {
	mod := instantiate(t)
	for _, conn := range []string{m2m() + ";Port=5433", "AuthScheme=Nope;Token=s3cret-agree"} {
		c, w := viaC(t, "normalize", conn), viaWASI(t, mod, map[string]any{"op": "normalize", "conn": conn})
		if c.Error == nil && w.Error == nil {
			same(t, "normalize "+conn, map[string]json.RawMessage{"C": c.Result, "WASI": w.Result})
		} else if c.Error == nil || w.Error == nil || *c.Error != *w.Error {
			t.Errorf("normalize %q: C fails with %+v, WASI with %+v", conn, c.Error, w.Error)
		}
	}
}

func TestExportsAgreeOnTokens(t *testing.T) {
	mod := instantiate(t)
	expiry := time.Now().Add(time.Hour).Truncate(time.Second)
	for name, token := range map[string]string{
		"a JWT":                jwt(map[string]any{"sub": "agree@example.com", "scope": "all-apis sql", "exp": expiry.Unix()}),
		"a token of no expiry": "dapi-agree-0123456789",
	} {
		conn := "AuthScheme=Token;Host=" + emu.Info().WorkspaceURL + ";Token=" + token
		c := viaC(t, "token", conn)
		w := viaWASI(t, mod, map[string]any{"op": "token", "conn": conn})
		cli := viaCLI(t, "token", "--json", "--connection", conn)
		if c.Error != nil || w.Error != nil {
			t.Fatalf("%s: C %+v, WASI %+v", name, c.Error, w.Error)
		}
		same(t, "token of "+name, map[string]json.RawMessage{"WASI": w.Result, "CLI --json": cli})
		var fromC struct {
			AccessToken string `json:"access_token"`
			ExpiresUnix int64  `json:"expires_unix"`
		}
		var fromWASI struct {
			AccessToken string          `json:"access_token"`
			ExpiresAt   json.RawMessage `json:"expires_at"`
		}
		json.Unmarshal(c.Result, &fromC)
		json.Unmarshal(w.Result, &fromWASI)
		want := "null" // unknown: C's 0
		if fromC.ExpiresUnix != 0 {
			want = `"` + time.Unix(fromC.ExpiresUnix, 0).UTC().Format(time.RFC3339) + `"`
		}
		if fromC.AccessToken != token || fromWASI.AccessToken != token || string(fromWASI.ExpiresAt) != want {
			t.Errorf("%s: C's expiry %d is %s; WASI gives %s", name, fromC.ExpiresUnix, want, fromWASI.ExpiresAt)
		}
	}
}

func TestExportsAgreeOnAuthorizationURL(t *testing.T) {
	mod := instantiate(t)
	conn := "AuthScheme=OAuthPKCE;Host=" + emu.Info().WorkspaceURL + ";OAuthSettingsLocation=" + filepath.Join(t.TempDir(), "tokens.json")
	c := viaC(t, "oauth_authorization_url", conn)
	w := viaWASI(t, mod, map[string]any{"op": "oauth_authorization_url", "conn": conn})
	if c.Error != nil || w.Error != nil {
		t.Fatalf("C %+v, WASI %+v", c.Error, w.Error)
	}
	// The state and the PKCE verifier are new each time: the rest must agree.
	shapes := map[string]json.RawMessage{}
	for name, text := range map[string]json.RawMessage{"C": c.Result, "WASI": w.Result,
		"CLI --json": viaCLI(t, "oauth", "authorize-url", "--json", "--connection", conn)} {
		var a map[string]string
		if err := json.Unmarshal(text, &a); err != nil {
			t.Fatalf("%s: %s: %v", name, text, err)
		}
		u, err := url.Parse(a["URL"])
		if err != nil {
			t.Fatalf("%s: %s: %v", name, text, err)
		}
		q := u.Query()
		challenge := sha256.Sum256([]byte(a["PKCEVerifier"]))
		if q.Get("state") != a["State"] || q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(challenge[:]) {
			t.Errorf("%s: the URL's state and code_challenge are not State's and PKCEVerifier's: %s", name, text)
		}
		q.Del("state")
		q.Del("code_challenge")
		u.RawQuery = q.Encode()
		a["URL"], a["State"], a["PKCEVerifier"] = u.String(), "(new each time)", "(new each time)"
		shapes[name], _ = json.Marshal(a)
	}
	same(t, "the authorization URL", shapes)
}

// TestExportsAgreeOnAppErrors: an app call that fails for a reason the
// classification knows no type of (here the token source's: the Token
// given has expired) gets the same code from C and WASI: the token's
// (LAKELINK_ERR_AUTH), not the app's.
func TestExportsAgreeOnAppErrors(t *testing.T) {
	mod := instantiate(t)
	i := emu.Info()
	expired := jwt(map[string]any{"sub": "agree@example.com", "exp": time.Now().Add(-time.Hour).Unix()})
	conn := "AuthScheme=Token;Host=" + i.WorkspaceURL + ";Token=" + expired
	c := viaC(t, "app_request", conn, i.AppURL, "GET", "/api/whoami", "")
	w := viaWASI(t, mod, map[string]any{"op": "app_request", "conn": conn, "app_url": i.AppURL, "url": "/api/whoami"})
	if c.Error == nil || w.Error == nil || *c.Error != *w.Error || c.Error.Code != -4 {
		t.Fatalf("an expired Token: C fails with %+v, WASI with %+v; want the same LAKELINK_ERR_AUTH (-4)", c.Error, w.Error)
	}
}

// TestExportsAgreeOnLakebaseCredential: C and WASI give the same login;
// each process mints its own credential, so for a minted one the password
// and its expiry (both there) differ, for a Password given nothing does.
func TestExportsAgreeOnLakebaseCredential(t *testing.T) {
	mod := instantiate(t)
	lb := emu.Info().Lakebase
	minted := fmt.Sprintf("%s;Server=%s;Port=%d;Instance=%s;SSLMode=require;ApplicationName=agree", m2m(), lb.Host, lb.Port, lb.Instance)
	given := fmt.Sprintf("AuthScheme=Password;Server=%s;Port=%d;Database=db;User=someone;Password=pw-agree;SSLMode=disable", lb.Host, lb.Port)
	for name, conn := range map[string]string{"minted": minted, "given": given} {
		c := viaC(t, "lakebase_credential", conn)
		w := viaWASI(t, mod, map[string]any{"op": "lakebase_credential", "conn": conn})
		if c.Error != nil || w.Error != nil {
			t.Fatalf("%s: C %+v, WASI %+v", name, c.Error, w.Error)
		}
		logins := map[string]json.RawMessage{}
		for export, result := range map[string]json.RawMessage{"C": c.Result, "WASI": w.Result} {
			var login map[string]any
			if err := json.Unmarshal(result, &login); err != nil {
				t.Fatal(err)
			}
			if _, ok := login["expires_at"]; !ok || login["password"] == "" {
				t.Fatalf("%s through %s: no expires_at, or no password", name, export)
			}
			if name == "minted" {
				if _, err := time.Parse(time.RFC3339, fmt.Sprint(login["expires_at"])); err != nil {
					t.Errorf("%s: expires_at %v: %v", export, login["expires_at"], err)
				}
				delete(login, "password")
				delete(login, "expires_at")
			} else if login["expires_at"] != nil || login["password"] != "pw-agree" {
				t.Errorf("%s: a Password given: expires_at %v, want null", export, login["expires_at"])
			}
			logins[export], _ = json.Marshal(login)
		}
		same(t, "lakebase_credential "+name, logins)
	}
}

// TestExportsAgreeOnHeaders: headers given as a string or a list of
// strings reach the app alike through C and WASI.
func TestExportsAgreeOnHeaders(t *testing.T) {
	mod := instantiate(t)
	i := emu.Info()
	headers := map[string]any{"X-One": "a", "X-Many": []string{"b", "c"}}
	headersJSON, _ := json.Marshal(headers)
	c := viaC(t, "app_request", m2m(), i.AppURL, "GET", "/api/echo", string(headersJSON))
	w := viaWASI(t, mod, map[string]any{"op": "app_request", "conn": m2m(), "app_url": i.AppURL, "url": "/api/echo", "headers": headers})
	if c.Error != nil || w.Error != nil {
		t.Fatalf("C %+v, WASI %+v", c.Error, w.Error)
	}
	seen := map[string]json.RawMessage{}
	for name, result := range map[string]json.RawMessage{"C": c.Result, "WASI": w.Result} {
		var r struct {
			Status int
			Body   json.RawMessage
		}
		if err := json.Unmarshal(result, &r); err != nil {
			t.Fatalf("%s: %s: %v", name, result, err)
		}
		body := []byte(r.Body)
		var text string
		if json.Unmarshal(r.Body, &text) == nil { // C's exports.c prints the body as text, WASI gives it in base64
			if body = []byte(text); !json.Valid(body) {
				body, _ = base64.StdEncoding.DecodeString(text)
			}
		}
		var echo struct{ Headers map[string][]string }
		if err := json.Unmarshal(body, &echo); err != nil || r.Status != 200 {
			t.Fatalf("%s: status %d, body %q: %v", name, r.Status, body, err)
		}
		seen[name], _ = json.Marshal(map[string][]string{"X-One": echo.Headers["X-One"], "X-Many": echo.Headers["X-Many"]})
	}
	same(t, "headers as a string or a list", seen)
	if want := `{"X-Many":["b","c"],"X-One":["a"]}`; string(seen["C"]) != want {
		t.Errorf("the app saw %s, want %s", seen["C"], want)
	}
}

// TestExportsAgreeOnUnifiedAuth: AuthScheme=Databricks resolves alike
// through the C library (databricks-sdk-go's config package) and the WASI
// module (core/auth's unified_wasip1.go, which follows it without the
// SDK's cloud clients): the same DATABRICKS_* variables and
// ~/.databrickscfg profiles give the same identity, or the same error.
func TestExportsAgreeOnUnifiedAuth(t *testing.T) {
	i := emu.Info()
	sp, host, pat := i.ServicePrincipal, i.WorkspaceURL, "dapi-agree-unified-0123"
	m2mEnv := []string{"DATABRICKS_HOST", host, "DATABRICKS_CLIENT_ID", sp.ClientID, "DATABRICKS_CLIENT_SECRET", sp.ClientSecret}
	m2mProfile := fmt.Sprintf("host = %s\nclient_id = %s\nclient_secret = %s\n", host, sp.ClientID, sp.ClientSecret)
	lb := i.Lakebase
	lakebase := fmt.Sprintf(";Server=%s;Port=%d;Instance=%s;SSLMode=require", lb.Host, lb.Port, lb.Instance)
	for _, c := range []struct {
		name string
		env  []string // name, value, ...
		cfg  string   // ~/.databrickscfg; none when ""
		conn string   // added to AuthScheme=Databricks
		want string   // "sp" (the service principal's token), "pat", "login" (a Lakebase login) or "error"
	}{
		{"m2m from the environment", m2mEnv, "", "", "sp"},
		{"pat from the environment", []string{"DATABRICKS_HOST", host, "DATABRICKS_TOKEN", pat}, "", "", "pat"},
		{"the DEFAULT profile", nil, "[DEFAULT]\n" + m2mProfile, "", "sp"},
		{"a profile named by Profile", nil, "[DEFAULT]\nhost = https://nowhere.example.com\ntoken = other\n\n[sp]\n" + m2mProfile, ";Profile=sp", "sp"},
		{"__settings__'s default_profile", nil, "[__settings__]\ndefault_profile = sp\n\n[sp]\n" + m2mProfile, "", "sp"},
		{"the environment over the profile", []string{"DATABRICKS_CONFIG_PROFILE", "p", "DATABRICKS_TOKEN", pat},
			"[p]\nhost = " + host + "\ntoken = not-this-one\n", "", "pat"},
		{"the workspace of the environment, for Lakebase", m2mEnv, "", lakebase, "login"},
		{"the workspace of a profile, for Lakebase", nil, "[sp]\n" + m2mProfile, ";Profile=sp" + lakebase, "login"},
		{"the workspace of the DEFAULT profile, for Lakebase", nil, "[DEFAULT]\n" + m2mProfile, lakebase, "login"},
		{"the workspace of __settings__'s default_profile, for Lakebase", nil,
			"[__settings__]\ndefault_profile = sp\n\n[sp]\n" + m2mProfile, lakebase, "login"},
		{"auth_type chooses among two methods", append([]string{"DATABRICKS_TOKEN", pat, "DATABRICKS_AUTH_TYPE", "oauth-m2m"}, m2mEnv...), "", "", "sp"},
		{"a missing profile", []string{"DATABRICKS_CONFIG_PROFILE", "nope"}, "[DEFAULT]\n" + m2mProfile, "", "error"},
		{"a profile without credentials", nil, "[DEFAULT]\nhost = " + host + "\n", "", "error"},
		{"two auth methods", append([]string{"DATABRICKS_TOKEN", pat}, m2mEnv...), "", "", "error"},
		{"no credentials", []string{"DATABRICKS_HOST", host}, "", "", "error"},
		{"nothing configured", nil, "", "", "error"},
		{"an auth type not configured", []string{"DATABRICKS_HOST", host, "DATABRICKS_AUTH_TYPE", "oauth-m2m"}, "", "", "error"},
		{"an unknown auth type", []string{"DATABRICKS_HOST", host, "DATABRICKS_AUTH_TYPE", "nope"}, "", "", "error"},
		{"auth_type pat without a host", []string{"DATABRICKS_TOKEN", pat, "DATABRICKS_AUTH_TYPE", "pat"}, "", "", "pat"},
		{"pat without a host", []string{"DATABRICKS_TOKEN", pat}, "", "", "error"},
		{"a workspace URL lakelink refuses", []string{"DATABRICKS_HOST", "http://example.com", "DATABRICKS_TOKEN", pat}, "", "", "error"},
		{"a malformed profile", nil, "[DEFAULT]\nhost = " + host + "\nazure_use_msi = maybe\n", "", "error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			if c.cfg != "" {
				if err := os.WriteFile(filepath.Join(home, ".databrickscfg"), []byte(c.cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"HOME=" + home}
			for j := 0; j+1 < len(c.env); j += 2 {
				env = append(env, c.env[j]+"="+c.env[j+1])
			}
			op := "token"
			if c.want == "login" {
				op = "lakebase_credential"
			}
			conn := "AuthScheme=Databricks" + c.conn
			fromC := viaCWith(t, env, op, conn)
			mod := instantiateIn(t, home, append([]string{"HOME", home}, c.env...)...)
			fromWASI := viaWASI(t, mod, map[string]any{"op": op, "conn": conn})
			if c.want == "error" {
				if fromC.Error == nil || fromWASI.Error == nil || *fromC.Error != *fromWASI.Error {
					t.Fatalf("C fails with %+v,\nWASI with %+v", fromC.Error, fromWASI.Error)
				}
				noSecret(t, sp.ClientSecret, fromC.Error.Message)
				noSecret(t, pat, fromC.Error.Message)
				return
			}
			if fromC.Error != nil || fromWASI.Error != nil {
				t.Fatalf("C fails with %+v,\nWASI with %+v", fromC.Error, fromWASI.Error)
			}
			results := map[string]json.RawMessage{}
			for name, result := range map[string]json.RawMessage{"C": fromC.Result, "WASI": fromWASI.Result} {
				var r map[string]any
				if err := json.Unmarshal(result, &r); err != nil {
					t.Fatal(err)
				}
				switch c.want {
				case "pat":
					if r["access_token"] != pat {
						t.Errorf("%s: a token other than DATABRICKS_TOKEN", name)
					}
				case "sp":
					if sub := subject(t, fmt.Sprint(r["access_token"])); sub != sp.ClientID {
						t.Errorf("%s: a token of %q, want the service principal's", name, sub)
					}
				case "login":
					delete(r, "password")
					delete(r, "expires_at")
					results[name], _ = json.Marshal(r)
				}
			}
			if c.want == "login" {
				same(t, "the Lakebase login", results)
			}
		})
	}
}

// subject is the sub claim of the JWT token, read without verifying it.
func subject(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Sub string }
	if err == nil {
		err = json.Unmarshal(payload, &claims)
	}
	if err != nil {
		t.Fatalf("the token's claims: %v", err)
	}
	return claims.Sub
}

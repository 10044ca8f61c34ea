// Package capitests tests liblakelink.so, the C ABI, from C and Python.
//
// TestMain builds the library into a temporary directory exactly as `make
// build` does (so `go test ./...` needs nothing else) and starts an
// emulator in-process. Each C program in this directory (see check.h) is
// compiled with gcc -std=c99 -Wall -Wextra -Werror -pedantic against the
// hand-written capi/lakelink.h, and run twice: as built, and with
// AddressSanitizer (ASan for invalid reads and writes, LeakSanitizer for
// buffers the program got from lakelink and did not free). Connection
// strings reach the programs in LAKELINK_* environment variables.
//
// Memory checking: the library itself is not instrumented (it is Go), but
// every buffer it returns comes from C malloc, which ASan replaces for the
// whole process: a read past the end of a returned buffer, a use after
// lakelink_free, or a returned buffer never freed is reported. The Go
// runtime's own C allocations that live as long as its threads (thread
// start-up, the cgo TLS set-up) are suppressed by lsan.supp, and nothing
// else; TestMemoryCheckerIsLive proves that a forgotten lakelink buffer and
// an overflow of one still fail.
package capitests

import (
	"bufio"
	"cmp"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
)

var (
	capiDir  string // capi/: lakelink.h
	testsDir string // capi/tests: the programs
	workDir  string // temporary: the library, the binaries, a HOME
	libDir   string // holds liblakelink.so
	emu      *emulator.Emulator
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if testsDir, err = filepath.Abs("."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	capiDir = filepath.Dir(testsDir)
	if workDir, err = os.MkdirTemp("", "lakelink-capi-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	libDir = filepath.Join(workDir, "lib")
	if err := buildLibrary(); err != nil {
		fmt.Fprintln(os.Stderr, "building "+tgt.lib+":", err)
		return 1
	}
	if err := prepareTarget(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	emu, err = emulator.Start(ctx, emulator.Config{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulator:", err)
		return 1
	}
	code := m.Run()
	if err := emu.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the emulator:", err)
		code = 1
	}
	return code
}

// buildLibrary builds the library into libDir as the Makefile's build
// target does (cross-compiled for another target, see target), and removes
// cgo's generated header: capi/lakelink.h is the public one. With
// LAKELINK_TEST_LIBRARY it copies that library instead.
func buildLibrary() error {
	out := filepath.Join(libDir, tgt.lib)
	if built := os.Getenv("LAKELINK_TEST_LIBRARY"); built != "" {
		data, err := os.ReadFile(built)
		if err == nil {
			err = os.MkdirAll(libDir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(out, data, 0o755)
		}
		return err
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = capiDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if tgt.name != "" {
		cmd.Env = append(cmd.Env, "GOOS="+tgt.goos, "GOARCH="+tgt.arch, "CC="+tgt.cc)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return os.Remove(strings.TrimSuffix(out, filepath.Ext(out)) + ".h")
}

// ---- compiling and running the C programs ----

// sanitizer is how a program is built and run.
type sanitizer string

const (
	plain sanitizer = "plain"
	asan  sanitizer = "asan"
)

var (
	cflags     = []string{"-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread", "-g"}
	asanFlags  = []string{"-O1", "-fsanitize=address", "-fno-omit-frame-pointer"}
	plainFlags = []string{"-O2"}

	compiled sync.Map // "name/sanitizer" -> *compileResult
)

// sanitizers are the ways a program is built and run on the target: as
// built, and with ASan where the target has it.
func sanitizers() []sanitizer {
	if tgt.asan {
		return []sanitizer{plain, asan}
	}
	return []sanitizer{plain}
}

type compileResult struct {
	once sync.Once
	bin  string
	err  error
}

// compile builds capi/tests/<name>.c once per sanitizer.
func compile(t *testing.T, name string, san sanitizer) string {
	t.Helper()
	v, _ := compiled.LoadOrStore(name+"/"+string(san), &compileResult{})
	c := v.(*compileResult)
	c.once.Do(func() {
		c.bin = filepath.Join(workDir, "bin", tgt.exe(name+"-"+string(san)))
		if c.err = os.MkdirAll(filepath.Dir(c.bin), 0o755); c.err != nil {
			return
		}
		args := append([]string{}, cflags...)
		if san == asan {
			args = append(args, asanFlags...)
		} else {
			args = append(args, plainFlags...)
		}
		args = append(append(args, "-I"+capiDir, filepath.Join(testsDir, name+".c"), "-o", c.bin), tgt.linkFlags()...)
		if b, err := exec.Command(tgt.cc, args...).CombinedOutput(); err != nil {
			c.err = fmt.Errorf("%s %s: %v\n%s", tgt.cc, strings.Join(args, " "), err, b)
		}
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.bin
}

// programEnv is the environment of a program: this process's, without
// anything that could change how lakelink authenticates, with a HOME of
// its own and the given variables.
func programEnv(san sanitizer, vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "DATABRICKS_"), strings.HasPrefix(name, "LAKELINK_"),
			strings.HasPrefix(name, "ASAN_"), strings.HasPrefix(name, "LSAN_"), name == "HOME":
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(workDir, "home")
	os.MkdirAll(home, 0o700)
	env = append(env, "HOME="+home)
	if san == asan {
		env = append(env,
			// halt_on_error and exitcode: the first invalid access, or leaks
			// at exit (detect_leaks: LeakSanitizer), end the program with
			// status 86.
			"ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=86:abort_on_error=0:strict_string_checks=1:"+
				"detect_stack_use_after_return=0:check_initialization_order=1",
			"LSAN_OPTIONS=suppressions="+filepath.Join(testsDir, "lsan.supp")+":print_suppressions=1")
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return append(env, tgt.env...)
}

// runProgram runs a compiled program and returns its combined output and
// its error (an *exec.ExitError when it exits non-zero).
func runProgram(t *testing.T, bin string, san sanitizer, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tgt.programTimeout())
	defer cancel()
	name, argv := tgt.command(bin, args...)
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Env = programEnv(san, vars)
	cmd.Dir = workDir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", time.Since(start).Round(time.Millisecond), err)
	}
	t.Logf("%s %s: %s", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out), err
}

// mustPass compiles and runs name with both sanitizers (as subtests) and
// fails with its output unless it exits 0.
func mustPass(t *testing.T, name string, vars map[string]string) {
	t.Helper()
	for _, san := range sanitizers() {
		t.Run(string(san), func(t *testing.T) {
			out, err := runProgram(t, compile(t, name, san), san, vars)
			if err != nil {
				t.Fatalf("%s (%s): %v\n%s", name, san, err, out)
			}
			if !strings.Contains(out, "PASS "+name) {
				t.Fatalf("%s (%s) exited 0 without PASS:\n%s", name, san, out)
			}
			if san == asan && strings.Contains(out, "Sanitizer") {
				t.Fatalf("%s: a sanitizer reported something, yet the program exited 0:\n%s", name, out)
			}
			if strings.Contains(out, "Suppressions used") {
				t.Logf("note: lsan.supp suppressed a leak report of the Go runtime (see below)")
			}
			t.Log("\n" + out)
		})
	}
}

// ---- what the programs are told ----

// spConn is the service principal's M2M connection string (CAN USE on the
// app).
func spConn() string {
	info := emu.Info()
	return fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s",
		info.WorkspaceURL, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret)
}

func lakebaseConn() string {
	lb := emu.Info().Lakebase
	return fmt.Sprintf("%s;Server=%s;Port=%d;Instance=%s;SSLMode=verify-full;SSLServerCert=%s",
		spConn(), lb.Host, lb.Port, lb.Instance, lb.CAFile)
}

func outsiderConn() string {
	info := emu.Info()
	return fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s",
		info.WorkspaceURL, info.Outsider.ClientID, info.Outsider.ClientSecret)
}

// deadURL is an http URL on a port where nothing listens.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func env(t *testing.T) map[string]string {
	info := emu.Info()
	return map[string]string{
		"LAKELINK_SP":             spConn(),
		"LAKELINK_SP_ID":          info.ServicePrincipal.ClientID,
		"LAKELINK_SP_SECRET":      info.ServicePrincipal.ClientSecret,
		"LAKELINK_OUTSIDER":       outsiderConn(),
		"LAKELINK_LAKEBASE":       lakebaseConn(),
		"LAKELINK_APP_URL":        info.AppURL,
		"LAKELINK_WORKSPACE":      info.WorkspaceURL,
		"LAKELINK_DEAD_URL":       deadURL(t),
		"LAKELINK_LIBRARY":        filepath.Join(libDir, tgt.lib),
		"LAKELINK_CALLBACK":       "http://127.0.0.1:8765/callback",
		"PYTHONDONTWRITEBYTECODE": "1",
	}
}

// ---- the tests ----

// TestHeaderMatchesLibrary: every function lakelink.h declares is
// exported by the library, and every lakelink_* symbol the library
// exports is declared.
func TestHeaderMatchesLibrary(t *testing.T) {
	header, err := os.ReadFile(filepath.Join(capiDir, "lakelink.h"))
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(header), " ")
	code = regexp.MustCompile(`//[^\n]*`).ReplaceAllString(code, " ")
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(lakelink_\w+)\s*\(`).FindAllStringSubmatch(code, -1) {
		declared[m[1]] = true
	}
	names, err := tgt.exports(filepath.Join(libDir, tgt.lib))
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, name := range names {
		exported[name] = true
	}
	if len(declared) < 20 || len(exported) < 20 {
		t.Fatalf("declared %d, exported %d: the parsing is broken", len(declared), len(exported))
	}
	for _, name := range sortedKeys(declared) {
		if !exported[name] {
			t.Errorf("lakelink.h declares %s, which the library does not export", name)
		}
	}
	for _, name := range sortedKeys(exported) {
		if !declared[name] {
			t.Errorf("the library exports %s, which lakelink.h does not declare", name)
		}
	}
	t.Logf("%d functions, declared and exported", len(declared))
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestHeaderStandalone: lakelink.h compiles on its own as C99 and C++, with
// every warning an error.
func TestHeaderStandalone(t *testing.T) {
	t.Parallel()
	src := filepath.Join(workDir, "header-only.c")
	if err := os.WriteFile(src, []byte("#include \"lakelink.h\"\nint main(void) { return lakelink_abi_version() == LAKELINK_ABI_VERSION ? 0 : 1; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lang := range [][]string{{tgt.cc, "-std=c99"}, {tgt.cc, "-std=c11"}, {tgt.cxx, "-x", "c++", "-std=c++11"}} {
		if _, err := exec.LookPath(lang[0]); err != nil {
			t.Logf("no %s: skipped", lang[0])
			continue
		}
		args := append(append([]string{}, lang[1:]...), "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"+capiDir,
			src, "-o", filepath.Join(workDir, tgt.exe("header-only-"+lang[0])))
		args = append(args, tgt.linkFlags()...)
		if b, err := exec.Command(lang[0], args...).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", lang[0], strings.Join(args, " "), err, b)
		}
	}
}

// TestEveryProgramIsRun: a C program added to this directory gets a test.
func TestEveryProgramIsRun(t *testing.T) {
	run := map[string]bool{"basics": true, "apps": true, "lakebase": true, "misuse": true, "threads": true,
		"oauth_url": true, "oauth_exchange": true, "negative": true, "routing": true, "secrets": true, "pools": true,
		"bulk": true, "async": true, "stacks": true}
	files, err := filepath.Glob(filepath.Join(testsDir, "*.c"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".c"); !run[name] {
			t.Errorf("%s.c is run by no test", name)
		}
	}
}

func TestBasics(t *testing.T) {
	t.Parallel()
	mustPass(t, "basics", env(t))
}

func TestApps(t *testing.T) {
	t.Parallel()
	mustPass(t, "apps", env(t))
}

// TestRouting runs routing.c over the table of where an app's token may
// go that every binding's tests read, written for C as lines of fields
// separated by 0x1F, {port} replaced by the emulator app's port.
func TestRouting(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(capiDir, "..", "core", "apps", "testdata", "routing.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(emu.Info().AppURL, "http://"))
	var table struct {
		Rows []struct{ Want, App, URL, Sent, Why string }
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(data), "{port}", port)), &table); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for _, r := range table.Rows {
		lines.WriteString(strings.Join([]string{r.Want, r.App, r.URL, r.Sent, r.Why}, "\x1f") + "\n")
	}
	file := filepath.Join(t.TempDir(), "routing.txt")
	if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := env(t)
	vars["LAKELINK_ROUTING_TABLE"] = file
	mustPass(t, "routing", vars)
}

func TestLakebase(t *testing.T) {
	t.Parallel()
	mustPass(t, "lakebase", env(t))
}

func TestBulk(t *testing.T) {
	t.Parallel()
	mustPass(t, "bulk", env(t))
}

func TestAsync(t *testing.T) {
	if tgt.goos == "windows" {
		t.Skip("the asynchronous calls' queue signals through a POSIX descriptor: not on Windows yet (lakelink.h)")
	}
	t.Parallel()
	mustPass(t, "async", env(t))
}

func TestPools(t *testing.T) {
	t.Parallel()
	mustPass(t, "pools", env(t))
}

func TestMisuse(t *testing.T) {
	t.Parallel()
	mustPass(t, "misuse", env(t))
}

// TestSecrets runs secrets.c once per sanitizer, each time with the
// credentials API armed to answer a credential cut short. It is not
// parallel: the fault is for this program's call only.
func TestSecrets(t *testing.T) {
	const secret = "SECRETcutCredential42"
	vars := env(t)
	vars["LAKELINK_CUT_SECRET"] = secret
	fault := `{"endpoint":"database-credentials","kind":"malformed","body":"{\"token\": \"` + secret + `\", \"expiration_time\": "}`
	for _, san := range sanitizers() {
		t.Run(string(san), func(t *testing.T) {
			resp, err := http.Post(emu.Info().AdminURL+"/faults", "application/json", strings.NewReader(fault))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("arming the fault: %s", resp.Status)
			}
			out, err := runProgram(t, compile(t, "secrets", san), san, vars)
			if err != nil || !strings.Contains(out, "PASS secrets") || strings.Contains(out, "Sanitizer") {
				t.Fatalf("secrets (%s): %v\n%s", san, err, out)
			}
			t.Log("\n" + out)
		})
	}
}

// TestStacks: calls from stacks of the caller's own (as koffi makes
// them), on the main thread and on others, where the library answers the
// Go runtime's question for the thread's stack from glibc's last answer
// (capi/stackbound_linux.c).
func TestStacks(t *testing.T) {
	t.Parallel()
	mustPass(t, "stacks", env(t))
}

// TestStackBoundIsTheLibrarys: on Linux the Go runtime's question for a
// thread's stack is answered in the library (capi/stackbound_linux.c),
// so the library imports no pthread_getattr_np.
func TestStackBoundIsTheLibrarys(t *testing.T) {
	if goos := cmp.Or(tgt.goos, runtime.GOOS); goos != "linux" {
		t.Skipf("%s: glibc's pthread_getattr_np is Linux's", goos)
	}
	f, err := elf.Open(filepath.Join(libDir, tgt.lib))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imported, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range imported {
		if s.Name == "pthread_getattr_np" {
			t.Fatalf("the library imports %s@%s: the runtime calls glibc's, not capi/stackbound_linux.c's", s.Name, s.Version)
		}
	}
}

func TestThreads(t *testing.T) {
	t.Parallel()
	mustPass(t, "threads", env(t))
}

// TestOAuth runs the three OAuth procedures through the C ABI. oauth_url.c
// prints the authorization URL's JSON; the harness plays the browser
// (follows the URL to the emulator's authorize endpoint, which signs the
// user in at once, and reads the code from the redirect to the callback);
// oauth_exchange.c redeems the code and refreshes.
func TestOAuth(t *testing.T) {
	t.Parallel()
	for _, san := range sanitizers() {
		t.Run(string(san), func(t *testing.T) {
			vars := env(t)
			out, err := runProgram(t, compile(t, "oauth_url", san), san, vars)
			if err != nil || !strings.Contains(out, "PASS oauth_url") {
				t.Fatalf("oauth_url: %v\n%s", err, out)
			}
			t.Log("\n" + out)
			var a struct{ URL, State, PKCEVerifier string }
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				if j, ok := strings.CutPrefix(sc.Text(), "AUTHORIZATION_JSON "); ok {
					if err := json.Unmarshal([]byte(j), &a); err != nil {
						t.Fatalf("AUTHORIZATION_JSON: %v: %s", err, j)
					}
				}
			}
			if a.URL == "" || a.PKCEVerifier == "" {
				t.Fatalf("oauth_url printed no AUTHORIZATION_JSON:\n%s", out)
			}
			back := followAuthorization(t, a.URL, vars["LAKELINK_CALLBACK"], a.State)
			vars["LAKELINK_CALLBACK_URL"] = back.String()
			vars["LAKELINK_CODE"] = back.Query().Get("code")
			vars["LAKELINK_STATE"] = a.State
			vars["LAKELINK_PKCE_VERIFIER"] = a.PKCEVerifier
			out, err = runProgram(t, compile(t, "oauth_exchange", san), san, vars)
			if err != nil || !strings.Contains(out, "PASS oauth_exchange") {
				t.Fatalf("oauth_exchange: %v\n%s", err, out)
			}
			t.Log("\n" + out)
		})
	}
}

// followAuthorization is the browser: it GETs the authorization URL, which
// the emulator answers with a redirect to the callback, and returns the
// callback URL (with its code) after checking the state.
func followAuthorization(t *testing.T, authURL, callback, state string) *url.URL {
	t.Helper()
	loc, err := emulator.SignIn(context.Background(), authURL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), callback+"?") {
		t.Fatalf("redirected to %s, not the callback %s", loc, callback)
	}
	q := loc.Query()
	if q.Get("state") != state {
		t.Fatalf("callback state %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in the callback: %s", loc)
	}
	return loc
}

// TestMemoryCheckerIsLive: negative.c leaks a buffer lakelink returned, or
// reads past the end of one; under ASan both must fail, naming what went
// wrong, so the clean runs above mean something. The same program doing
// neither passes: the failures come from the deliberate mistakes, not
// from the Go runtime.
func TestMemoryCheckerIsLive(t *testing.T) {
	t.Parallel()
	if !tgt.asan {
		t.Skipf("no AddressSanitizer for %s: mingw-w64 has none, and ASan does not run under qemu-user", tgt.name)
	}
	bin := compile(t, "negative", asan)
	vars := env(t)

	out, err := runProgram(t, bin, asan, vars, "ok")
	if err != nil {
		t.Fatalf("negative ok: %v\n%s", err, out)
	}

	out, err = runProgram(t, bin, asan, vars, "leak")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 86 {
		t.Fatalf("a leaked lakelink buffer was not reported (want the sanitizer's exit code 86): %v\n%s", err, out)
	}
	for _, want := range []string{"ERROR: LeakSanitizer: detected memory leaks", "liblakelink.so", "SUMMARY: AddressSanitizer"} {
		if !strings.Contains(out, want) {
			t.Errorf("the leak report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "leaked in 1 allocation(s)") {
		t.Errorf("want exactly the one deliberate leak reported:\n%s", out)
	}
	t.Log("the deliberate leak, as reported:\n" + out)

	// The same with the Go runtime busy: a Lakebase session, its threads
	// and goroutines. The batch is one allocation; the error is one, and
	// its four strings are reached only through it.
	out, err = runProgram(t, bin, asan, vars, "leak-batch")
	if !errors.As(err, &exit) || exit.ExitCode() != 86 {
		t.Fatalf("a leaked batch and error were not reported (want the sanitizer's exit code 86): %v\n%s", err, out)
	}
	if !strings.Contains(out, "ERROR: LeakSanitizer: detected memory leaks") ||
		!regexp.MustCompile(`Direct leak of \d+ byte\(s\) in 2 object\(s\)|(?s)Direct leak.*Direct leak`).MatchString(out) ||
		!strings.Contains(out, "in 8 allocation(s)") {
		t.Errorf("want the batch and the error (2 direct leaks) and the error's 6 strings (indirect), 8 allocations:\n%s", out)
	}
	t.Log("the deliberate batch and error leaks, as reported:\n" + out)

	out, err = runProgram(t, bin, asan, vars, "overflow")
	if !errors.As(err, &exit) || exit.ExitCode() != 86 {
		t.Fatalf("a read past a lakelink buffer was not reported (want the sanitizer's exit code 86): %v\n%s", err, out)
	}
	if !strings.Contains(out, "ERROR: AddressSanitizer: heap-buffer-overflow") {
		t.Errorf("the report lacks heap-buffer-overflow:\n%s", out)
	}
	t.Log("the deliberate overflow, as reported:\n" + out)
}

// TestPythonSmoke runs smoke.py, which loads the library with ctypes, and
// binding_smoke.py, which uses it through the Python binding of this
// checkout. On another target it runs the Python LAKELINK_TEST_PYTHON
// names (a command line, such as build/platforms/run.sh's aarch64 Python
// under qemu-aarch64), and is skipped without one.
func TestPythonSmoke(t *testing.T) {
	t.Parallel()
	python := strings.Fields(os.Getenv("LAKELINK_TEST_PYTHON"))
	if len(python) == 0 && tgt.name != "" {
		t.Skipf("no Python for %s: set LAKELINK_TEST_PYTHON", tgt.name)
	}
	if len(python) == 0 {
		p, err := exec.LookPath("python3")
		if err != nil {
			t.Fatal("python3 is needed (make tools installs it)")
		}
		python = []string{p}
	}
	vars := env(t)
	vars["PYTHONPATH"] = filepath.Join(capiDir, "..", "bindings", "python")
	for _, script := range []string{"smoke.py", "binding_smoke.py"} {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, python[0], append(python[1:], filepath.Join(testsDir, script))...)
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS "+script) {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		t.Log("\n" + string(out))
	}
}

// TestNodeSmoke runs node_smoke.js with the Node LAKELINK_TEST_NODE names
// (a command line, such as build/platforms/run.sh's Windows node.exe under
// wine), and is skipped without one: natively the Node binding's own tests
// (make test-node) cover it.
func TestNodeSmoke(t *testing.T) {
	t.Parallel()
	node := strings.Fields(os.Getenv("LAKELINK_TEST_NODE"))
	if len(node) == 0 {
		t.Skip("no LAKELINK_TEST_NODE: natively, make test-node tests the Node binding")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node[0], append(node[1:], filepath.Join(testsDir, "node_smoke.js"))...)
	cmd.Env = os.Environ()
	for k, v := range env(t) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, tgt.env...)
	// Into a file, not a pipe: under wine, Windows Node cannot open a pipe
	// from the host as its stdout (open EBADF).
	f, err := os.Create(filepath.Join(t.TempDir(), "node.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	if err != nil || !strings.Contains(string(out), "PASS node_smoke.js") {
		t.Fatalf("node_smoke.js: %v\n%s", err, out)
	}
	t.Log("\n" + string(out))
}

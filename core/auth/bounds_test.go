package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/soak"
)

// tokenIdentity is the connection string of a distinct AuthScheme=Token
// identity at the shared emulator.
func tokenIdentity(i int, extra string) string {
	return fmt.Sprintf("Host=%s;AuthScheme=Token;Token=token-%d-0123456789abcdef0123456789abcdef%s", shared.Info().WorkspaceURL, i, extra)
}

// TestLeastRecentlyUsedTokenSourceGoesFirst: beyond MaxIdentities, the
// token source asked for least recently is forgotten, the others kept.
func TestLeastRecentlyUsedTokenSourceGoesFirst(t *testing.T) {
	cfg := &Config{MaxIdentities: 2}
	defer cfg.Close()
	source := func(i int) *Source {
		s, err := cfg.NewTokenSource(parse(t, "%s", tokenIdentity(i, "")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := source(1), source(2)
	if source(1) != a { // a is now the most recently used
		t.Fatal("the same identity got another token source")
	}
	source(3) // b goes
	if source(1) != a {
		t.Error("the most recently used token source was forgotten")
	}
	if source(2) == b {
		t.Error("the least recently used token source was kept beyond MaxIdentities")
	}
	if n := cfg.sources.Len(); n != 2 {
		t.Errorf("the Config keeps %d token sources, want MaxIdentities = 2", n)
	}
}

// TestIdleTokenSourceIsForgotten: a token source not asked for during
// IdentityIdleTime is forgotten, even when nobody uses the Config; one
// asked for meanwhile stays. The forgotten one keeps working for its
// holder, and a new one for its identity fetches a token anew.
func TestIdleTokenSourceIsForgotten(t *testing.T) {
	const idle = 300 * time.Millisecond
	cfg := &Config{IdentityIdleTime: idle}
	defer cfg.Close()
	idleOpts := parse(t, "%s", m2m(shared))
	usedOpts := parse(t, "%s", tokenIdentity(1, ""))
	idleSource, err := cfg.NewTokenSource(idleOpts)
	if err != nil {
		t.Fatal(err)
	}
	first, err := idleSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	usedSource, _ := cfg.NewTokenSource(usedOpts)
	for range 6 {
		time.Sleep(idle / 3)
		if s, _ := cfg.NewTokenSource(usedOpts); s != usedSource {
			t.Fatal("a token source asked for within IdentityIdleTime was forgotten")
		}
	}
	if got, err := idleSource.Token(); err != nil || got.AccessToken != first.AccessToken {
		t.Errorf("the forgotten token source no longer gives its token: %v", err)
	}
	again, err := cfg.NewTokenSource(idleOpts)
	if err != nil {
		t.Fatal(err)
	}
	if again == idleSource {
		t.Fatal("a token source idle beyond IdentityIdleTime was kept")
	}
	if tok, err := again.Token(); err != nil || tok.AccessToken == first.AccessToken {
		t.Errorf("the new token source did not fetch anew: %v", err)
	}
	time.Sleep(2 * idle) // nobody uses the Config now
	if n := cfg.sources.Len(); n != 0 {
		t.Errorf("%d token sources left after IdentityIdleTime unused, want 0", n)
	}
}

// TestForgottenMemoryStoreKeepsItsTokens: a memory:// store the Config
// forgets keeps its tokens for those who hold it (a token source does),
// and opening its name again gives an empty store; a store whose tokens
// are read stays.
func TestForgottenMemoryStoreKeepsItsTokens(t *testing.T) {
	const idle = 300 * time.Millisecond
	cfg := &Config{MaxIdentities: 2, IdentityIdleTime: idle}
	defer cfg.Close()
	ctx := context.Background()
	open := func(location string) Store {
		s, err := cfg.OpenStore(location)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := open("memory://a")
	if err := a.Save(ctx, "k", &StoredToken{AccessToken: "kept", RefreshToken: "rotating"}); err != nil {
		t.Fatal(err)
	}
	for range 6 { // a is used: read
		time.Sleep(idle / 3)
		if _, err := a.Load("k"); err != nil {
			t.Fatal(err)
		}
	}
	if open("memory://a") != a {
		t.Fatal("a memory:// store in use was forgotten")
	}
	open("memory://b")
	open("memory://c") // a goes: least recently used
	if e, _ := a.Load("k"); e == nil || e.RefreshToken != "rotating" {
		t.Errorf("the forgotten store lost its entry: %v", e)
	}
	fresh := open("memory://a")
	if fresh == a {
		t.Fatal("the memory:// store was kept beyond MaxIdentities")
	}
	if e, _ := fresh.Load("k"); e != nil {
		t.Errorf("a store opened anew has an entry: %v", e)
	}
}

// TestCloseForgetsWhatTheConfigHolds: Close empties every cache of the
// Config; what it handed out keeps working, and the Config still works,
// keeping nothing.
func TestCloseForgetsWhatTheConfigHolds(t *testing.T) {
	cfg := &Config{}
	o := parse(t, "%s", m2m(shared))
	s, err := cfg.NewTokenSource(o)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token() // discovers the endpoints
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.OpenStore("memory://m"); err != nil {
		t.Fatal(err)
	}
	cfg.Close()
	if n := cfg.sources.Len() + cfg.discovery.Len() + cfg.memory.Len(); n != 0 {
		t.Errorf("%d entries left after Close", n)
	}
	if got, err := s.Token(); err != nil || got.AccessToken != tok.AccessToken {
		t.Errorf("a token source handed out stopped working: %v", err)
	}
	after, err := cfg.NewTokenSource(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Token(); err != nil {
		t.Errorf("the closed Config no longer works: %v", err)
	}
	if n := cfg.sources.Len(); n != 0 {
		t.Errorf("the closed Config keeps %d token sources", n)
	}
}

// TestRefusedOptionsLeaveNothing: options NewTokenSource refuses are not
// cached.
func TestRefusedOptionsLeaveNothing(t *testing.T) {
	cfg := &Config{}
	defer cfg.Close()
	for _, cs := range []string{"Host=h;AuthScheme=Token", "Host=h;AuthScheme=OAuthClient;OAuthClientId=x",
		"Host=h;AuthScheme=Token;Token=t;Logfile=" + filepath.Join(t.TempDir(), "missing", "log")} {
		if _, err := cfg.NewTokenSource(parse(t, "%s", cs)); err == nil {
			t.Fatalf("%s was accepted", cs)
		}
	}
	if n := cfg.sources.Len(); n != 0 {
		t.Errorf("%d token sources cached for refused options", n)
	}
}

// openHandles counts the process's file descriptors open on files in dir.
func openHandles(t *testing.T, dir string) map[string]int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	open := map[string]int{}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			open[target]++
		}
	}
	return open
}

// TestOneLogHandlePerPathWhenSourcesRace: token sources made at once with
// one Logfile append to one handle, and every line arrives whole.
func TestOneLogHandlePerPathWhenSourcesRace(t *testing.T) {
	dir := t.TempDir()
	logfile := filepath.Join(dir, "lakelink.log")
	cfg := &Config{}
	defer cfg.Close()
	const sources = 16
	var wg sync.WaitGroup
	errs := make(chan error, sources)
	for i := range sources {
		o := parse(t, "%s", tokenIdentity(i, ";Verbosity=2;Logfile="+logfile))
		wg.Go(func() {
			s, err := cfg.NewTokenSource(o)
			if err == nil {
				_, err = s.Token()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if open := openHandles(t, dir); open[logfile] != 1 {
		t.Errorf("handles open on the Logfile: %v, want one", open)
	}
	log, _ := os.ReadFile(logfile)
	if n := strings.Count(string(log), "msg=\"token obtained\""); n != sources {
		t.Errorf("%d whole lines in the Logfile, want %d:\n%s", n, sources, log)
	}
}

// TestLogFilesOpenAreBounded: at most maxOpenLogFiles Logfiles stay open;
// a line to one that was closed opens it again and appends.
func TestLogFilesOpenAreBounded(t *testing.T) {
	dir := t.TempDir()
	var loggers []*logger
	for i := range 3 * maxOpenLogFiles {
		l, err := newLogger(&connstr.Options{Logfile: filepath.Join(dir, strconv.Itoa(i)+".log"), Verbosity: 2})
		if err != nil {
			t.Fatal(err)
		}
		l.info("first", "i", i)
		loggers = append(loggers, l)
	}
	open := openHandles(t, dir)
	if len(open) > maxOpenLogFiles {
		t.Errorf("%d Logfiles open, want at most %d", len(open), maxOpenLogFiles)
	}
	loggers[0].info("second") // closed since: opened again
	log, _ := os.ReadFile(filepath.Join(dir, "0.log"))
	if !strings.Contains(string(log), "msg=first") || !strings.Contains(string(log), "msg=second") {
		t.Errorf("the reopened Logfile:\n%s", log)
	}
	for i := range loggers { // as when they turn idle
		logFiles.Remove(filepath.Join(dir, strconv.Itoa(i)+".log"))
	}
	if open := openHandles(t, dir); len(open) != 0 {
		t.Errorf("Logfiles still open once forgotten: %v", open)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// rss is the process's resident set size, 0 where /proc does not say.
func rss() uint64 {
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestManyIdentitiesStayBounded: distinct AuthScheme=Token identities,
// each logging to one of many Logfiles, through NewTokenSource and Token:
// the Config keeps MaxIdentities token sources, at most maxOpenLogFiles
// Logfiles stay open, goroutines and the heap come back to where they
// were. It also measures what a kept identity costs.
func TestManyIdentitiesStayBounded(t *testing.T) {
	identities := soak.Pick(20_000, 100_000)
	const maxIdentities = 100
	dir := t.TempDir()
	before, heapBefore, rssBefore := soak.Count(), heapInUse(), rss()
	cfg := &Config{MaxIdentities: maxIdentities}
	for i := range identities {
		logfile := filepath.Join(dir, strconv.Itoa(i%(4*maxOpenLogFiles))+".log")
		s, err := cfg.NewTokenSource(parse(t, "%s", tokenIdentity(i, ";Verbosity=2;Logfile="+logfile)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Token(); err != nil {
			t.Fatal(err)
		}
	}
	kept := cfg.sources.Len()
	logsOpen := len(openHandles(t, dir))
	during := soak.Count()
	heapDuring, rssDuring := heapInUse(), rss()
	if kept != maxIdentities {
		t.Errorf("the Config keeps %d token sources, want MaxIdentities = %d", kept, maxIdentities)
	}
	if logsOpen > maxOpenLogFiles {
		t.Errorf("%d Logfiles open, want at most %d", logsOpen, maxOpenLogFiles)
	}
	if during.OpenFiles > before.OpenFiles+maxOpenLogFiles || during.Goroutines > before.Goroutines+2 {
		t.Errorf("resources: %+v before, %+v after %d identities", before, during, identities)
	}
	const heapBound = 4 << 20
	if heapDuring > heapBefore+heapBound {
		t.Errorf("the heap grew by %d bytes over %d identities, want under %d", heapDuring-heapBefore, identities, heapBound)
	}

	// What a kept identity costs: DefaultMaxIdentities of them, kept.
	full := &Config{}
	heapEmpty := heapInUse()
	for i := range DefaultMaxIdentities {
		s, err := full.NewTokenSource(parse(t, "%s", tokenIdentity(i, ";Verbosity=2;Logfile="+filepath.Join(dir, "full.log"))))
		if err == nil {
			_, err = s.Token()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	perIdentity := (int64(heapInUse()) - int64(heapEmpty)) / DefaultMaxIdentities
	full.Close()
	cfg.Close()
	for i := range 4 * maxOpenLogFiles { // as when they turn idle
		logFiles.Remove(filepath.Join(dir, strconv.Itoa(i)+".log"))
	}
	logFiles.Remove(filepath.Join(dir, "full.log"))
	after := soak.Settle(before, 5*time.Second, func() {})
	if after.OpenFiles > before.OpenFiles || after.Goroutines > before.Goroutines {
		t.Errorf("resources: %+v before, %+v once the Config is closed and the Logfiles idle", before, after)
	}
	soak.Record(t, "distinct token identities through NewTokenSource", map[string]any{
		"identities": identities, "max_identities": maxIdentities, "kept": kept, "logfiles_open": logsOpen,
		"heap_growth_bytes": int64(heapDuring) - int64(heapBefore), "rss_growth_bytes": int64(rssDuring) - int64(rssBefore),
		"heap_per_kept_identity_bytes": perIdentity, "before": before, "during": during, "after": after,
	})
}

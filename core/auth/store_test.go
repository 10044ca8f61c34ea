package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// put stores entry under key.
func put(t *testing.T, store Store, key string, entry *StoredToken) {
	t.Helper()
	if err := store.Update(context.Background(), key, func(*StoredToken) (*StoredToken, error) { return entry, nil }); err != nil {
		t.Fatal(err)
	}
}

// expiredLogin signs in at e and stores the tokens at location as an entry
// whose access token has expired: the next use redeems the refresh token.
// It returns the connection string that uses the entry.
func expiredLogin(t *testing.T, host, location string) string {
	t.Helper()
	tokens := webTokens(t, parse(t, "Host=%s", host))
	store, err := OpenStore(location)
	if err != nil {
		t.Fatal(err)
	}
	put(t, store, StoreKey(host, DefaultClientID, DefaultUserScopes), &StoredToken{AccessToken: tokens.OAuthAccessToken,
		RefreshToken: tokens.OAuthRefreshToken, Expiry: time.Now().Add(-time.Minute), UpdatedAt: time.Now().Add(-time.Hour)})
	return fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthSettingsLocation=%s", host, location)
}

// tokenInChild runs helperProcess for conn with extra environment and
// returns the token it printed, or its error output.
func tokenInChild(conn string, env ...string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+conn), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// TestFullDiskKeepsTheRefreshToken: a process that cannot write the store
// (a disk full for it: no file may grow past 16 bytes) must not redeem the
// rotating refresh token, which it could not keep: it fails saying where,
// and the next process, with room, still renews with the stored token.
func TestFullDiskKeepsTheRefreshToken(t *testing.T) {
	e := shortLived(t, time.Hour)
	location := tokenStore(t)
	conn := expiredLogin(t, e.Info().WorkspaceURL, location)
	before := e.Stats()

	_, err := tokenInChild(conn, fileSizeLimitEnv+"=16")
	if err == nil || !strings.Contains(err.Error(), location) {
		t.Errorf("a process that cannot write the store: %v, want an error naming %s", err, location)
	}
	if d := e.Stats().RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 0 {
		t.Errorf("the process that could not write the store redeemed %d refresh tokens, want 0", d)
	}
	tok, err := tokenInChild(conn)
	if err != nil {
		t.Fatalf("the next process, with room: %v", err)
	}
	if status, body := appGet(t, e, "/api/whoami", tok); status != 200 {
		t.Errorf("its token: %d %s", status, body)
	}
	if d := e.Stats().RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh tokens reused: %d, want 0", d)
	}
}

// TestReadOnlyDirectoryKeepsTheRefreshToken: a process that may write the
// lock file but not the store's directory must not redeem the refresh
// token. Root writes anywhere, so as root the process runs as nobody, the
// owner of the store, its lock and its read-only directory.
func TestReadOnlyDirectoryKeepsTheRefreshToken(t *testing.T) {
	e := shortLived(t, time.Hour)
	const nobody = 65534
	top, binary := t.TempDir(), os.Args[0]
	asRoot := os.Geteuid() == 0
	if asRoot {
		top, binary = placeNobodyMayRun(t, nobody)
	}
	location := filepath.Join(top, "store", "tokens.json")
	conn := expiredLogin(t, e.Info().WorkspaceURL, location)
	os.WriteFile(location+".lock", nil, 0o600)
	child := func() *exec.Cmd {
		cmd := exec.Command(binary, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+conn)
		if asRoot {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		}
		return cmd
	}
	if asRoot {
		for _, path := range []string{filepath.Dir(location), location, location + ".lock"} {
			if err := os.Chown(path, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.Chmod(filepath.Dir(location), 0o500)
	t.Cleanup(func() { os.Chmod(filepath.Dir(location), 0o700) })
	before := e.Stats()

	out, err := child().CombinedOutput()
	if err == nil || !strings.Contains(string(out), location) {
		t.Errorf("a process that cannot write the store's directory: %v %s, want an error naming %s", err, out, location)
	}
	if d := e.Stats().RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 0 {
		t.Errorf("the process that could not write the store redeemed %d refresh tokens, want 0", d)
	}
	os.Chmod(filepath.Dir(location), 0o700)
	if out, err := child().CombinedOutput(); err != nil {
		t.Errorf("the next process, with a writable directory: %v %s", err, out)
	}
	if d := e.Stats().RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh tokens reused: %d, want 0", d)
	}
}

// placeNobodyMayRun returns a directory user uid may reach (0755, with
// every parent open to others) and a copy of the test binary in it that uid
// can run. It tries the temporary directory, then the working directory
// (the package's, for a temporary directory mounted noexec), and skips the
// test when uid can run the copy in neither.
func placeNobodyMayRun(t *testing.T, uid int) (dir, binary string) {
	t.Helper()
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	var refused []string
	for _, parent := range []string{os.TempDir(), "."} {
		dir, err := os.MkdirTemp(parent, "lakelink-read-only-*") // not t.TempDir(), whose parent is closed to others
		if err != nil {
			refused = append(refused, err.Error())
			continue
		}
		dir, _ = filepath.Abs(dir)
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		if closed := closedParent(dir); closed != "" {
			refused = append(refused, closed+" is closed to other users")
			continue
		}
		binary := filepath.Join(dir, "auth.test")
		if err := os.WriteFile(binary, data, 0o755); err != nil {
			t.Fatal(err)
		}
		probe := exec.Command(binary, "-test.run=^$") // exits at once: a connection string that fails
		probe.Env = append(os.Environ(), helperEnv+"=AuthScheme=Token")
		probe.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		var exit *exec.ExitError
		if err := probe.Run(); err != nil && !errors.As(err, &exit) {
			refused = append(refused, fmt.Sprintf("uid %d cannot run a program in %s: %v", uid, dir, err))
			continue
		}
		return dir, binary
	}
	t.Skipf("no directory where uid %d may run a copy of the test binary: %s", uid, strings.Join(refused, "; "))
	return "", ""
}

// closedParent returns the first parent of dir that other users cannot
// pass through, or "".
func closedParent(dir string) string {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// TestUnsavedTokensStayUsable: the store's new version is prepared before
// the refresh token is redeemed; when it still cannot be put in place (here
// the prepared file vanishes while the token endpoint answers), the process
// keeps the new tokens, says in its log where they were not saved, renews
// with the new refresh token (even while the store cannot be read), and
// saves them once it can.
func TestUnsavedTokensStayUsable(t *testing.T) {
	e := shortLived(t, time.Hour)
	location := tokenStore(t)
	logfile := filepath.Join(t.TempDir(), "lakelink.log")
	conn := expiredLogin(t, e.Info().WorkspaceURL, location) + ";Logfile=" + logfile
	src, err := NewTokenSource(parse(t, "%s", conn))
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	fault(t, e, `{"endpoint": "token", "kind": "hang", "duration": "1s"}`)
	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := src.Token()
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{tok: tok.AccessToken}
	}()
	var r result
	removed := false
	for waiting := true; waiting; {
		select {
		case r = <-done:
			waiting = false
		case <-time.After(5 * time.Millisecond):
			temps, _ := filepath.Glob(filepath.Join(filepath.Dir(location), ".oauth-tokens-*"))
			for _, tmp := range temps {
				removed = os.Remove(tmp) == nil || removed
			}
		}
	}
	if !removed {
		t.Fatal("no new version of the store was prepared while the refresh token was being redeemed")
	}
	if r.err != nil {
		t.Fatalf("a renewal whose tokens could not be saved: %v", r.err)
	}
	if status, body := appGet(t, e, "/api/whoami", r.tok); status != 200 {
		t.Errorf("the unsaved token: %d %s", status, body)
	}
	if log, _ := os.ReadFile(logfile); !strings.Contains(string(log), "not saved") || !strings.Contains(string(log), location) {
		t.Errorf("the log does not say where the tokens were not saved:\n%s", log)
	}

	// While the store cannot even be read, the process renews with the
	// unsaved tokens; once it can, it saves them.
	os.Remove(location)
	os.Mkdir(location, 0o700)
	renewed, err := src.Renew(context.Background(), r.tok)
	if err != nil {
		t.Fatalf("renewing with the unsaved refresh token while the store is unusable: %v", err)
	}
	os.Remove(location)
	saved, err := src.Renew(context.Background(), renewed.AccessToken)
	if err != nil {
		t.Fatalf("renewing with the unsaved refresh token once the store is usable: %v", err)
	}
	if saved.AccessToken == renewed.AccessToken || renewed.AccessToken == r.tok {
		t.Error("a renewal returned the refused token")
	}
	after := e.Stats()
	if d := after.RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh tokens reused: %d, want 0", d)
	}
	if d := after.RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 3 {
		t.Errorf("refresh tokens redeemed: %d, want 3", d)
	}
	store, _ := OpenStore(location)
	entry, err := store.Load(StoreKey(e.Info().WorkspaceURL, DefaultClientID, DefaultUserScopes))
	if err != nil || entry == nil || entry.AccessToken != saved.AccessToken {
		t.Fatalf("the saved entry: %v %v", entry, err)
	}
	if _, err := RefreshOAuthAccessToken(context.Background(), parse(t, "Host=%s", e.Info().WorkspaceURL), entry.RefreshToken); err != nil {
		t.Errorf("the saved refresh token: %v", err)
	}
}

// TestStoreFollowsNoSymlink: in a directory others can write to, a symbolic
// link at the lock's or the store's path would make lakelink create or read
// a file elsewhere. Both are refused, and nothing is created at the target.
func TestStoreFollowsNoSymlink(t *testing.T) {
	location := tokenStore(t)
	os.MkdirAll(filepath.Dir(location), 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Symlink(victim, location+".lock"); err != nil {
		t.Fatal(err)
	}
	store, _ := OpenStore(location)
	err := store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) { return &StoredToken{AccessToken: "a"}, nil })
	if err == nil || !strings.Contains(err.Error(), location+".lock") || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a lock that is a symbolic link: %v", err)
	}
	if _, err := os.Lstat(victim); err == nil {
		t.Error("the lock's symbolic link was followed: its target was created")
	}

	os.Remove(location + ".lock")
	planted := filepath.Join(t.TempDir(), "planted.json")
	os.WriteFile(planted, []byte(`{"version": 1, "entries": {"k": {"access_token": "someone else's"}}}`), 0o600)
	if err := os.Symlink(planted, location); err != nil {
		t.Fatal(err)
	}
	if entry, err := store.Load("k"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a store that is a symbolic link was read: %v %v", entry, err)
	}
}

// TestStoreRefusesFilesOthersControl: a store directory others may write
// to is refused unless it is sticky (as /tmp), and then only files of the
// user's are used. As root the test also gives files to another user.
func TestStoreRefusesFilesOthersControl(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	os.Mkdir(dir, 0o700)
	location := filepath.Join(dir, "tokens.json")
	store, _ := OpenStore(location)
	write := func() error {
		return store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) { return &StoredToken{AccessToken: "a"}, nil })
	}
	if err := write(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	if err := write(); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("a directory anyone may write to: %v", err)
	}
	if _, err := store.Load("k"); err == nil {
		t.Error("a store in a directory anyone may write to was read")
	}
	os.Chmod(dir, 0o777|os.ModeSticky)
	if err := write(); err != nil {
		t.Errorf("a sticky directory: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: files of another user cannot be made")
		return
	}
	const nobody = 65534
	for _, path := range []string{location + ".lock", location} {
		os.Chown(path, nobody, nobody)
		err := write()
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "owned by") {
			t.Errorf("%s of another user in a sticky directory: %v", path, err)
		}
		os.Chown(path, os.Geteuid(), os.Getegid())
	}
	os.Chown(dir, nobody, nobody)
	os.Chmod(dir, 0o700)
	if _, err := store.Load("k"); err == nil || !strings.Contains(err.Error(), "owned by") {
		t.Errorf("a store directory of another user: %v", err)
	}
}

// TestStoreLockWaitIsBounded: an update waits for the lock another holds
// only until its context is done, and then names the holder.
func TestStoreLockWaitIsBounded(t *testing.T) {
	store, _ := OpenStore(tokenStore(t))
	held, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) {
			close(held)
			<-release
			return nil, nil
		})
	}()
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := store.Update(ctx, "k", func(*StoredToken) (*StoredToken, error) { return nil, errors.New("ran without the lock") })
	took := time.Since(start)
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Errorf("waiting for a held lock with a 200ms deadline: %v after %s", err, took)
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d ", os.Getpid())) {
		t.Errorf("the error does not name the holder (pid %d): %v", os.Getpid(), err)
	}
	if data, _ := os.ReadFile(store.Location() + ".lock"); len(data) != 0 {
		t.Errorf("the released lock still names a holder: %q", data)
	}
}

// sharedDir returns a directory anyone may write to, sticky as /tmp: where
// other users can create files at the store's paths.
func sharedDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777|os.ModeSticky)
	return dir
}

// TestStoreRefusesAFIFO: another user can make a FIFO at the store's path
// in a shared directory. Opening one blocks until a writer comes, beyond
// any Timeout; the store never opens its files in a way that can block, and
// refuses what is not a regular file.
func TestStoreRefusesAFIFO(t *testing.T) {
	location := filepath.Join(sharedDir(t), "tokens.json")
	if err := syscall.Mkfifo(location, 0o600); err != nil {
		t.Fatal(err)
	}
	store, _ := OpenStore(location)
	loaded := make(chan error, 1)
	go func() { _, err := store.Load("k"); loaded <- err }()
	updated := make(chan error, 1)
	go func() {
		updated <- store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) { return nil, nil })
	}()
	for what, done := range map[string]chan error{"Load": loaded, "Update": updated} {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), location) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s of a store that is a FIFO: %v", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s of a store that is a FIFO still blocks after 5s", what)
		}
	}
}

// TestStoreRefusesHardLinkedFiles: a hard link at the lock's or the
// store's path (O_NOFOLLOW does not see one) would make lakelink write into,
// or read, another file of the user's. Both are refused, and the other
// file is left as it was.
func TestStoreRefusesHardLinkedFiles(t *testing.T) {
	location := filepath.Join(sharedDir(t), "tokens.json")
	precious := filepath.Join(t.TempDir(), "precious")
	const content = "the user's ssh config\n"
	os.WriteFile(precious, []byte(content), 0o600)
	store, _ := OpenStore(location)
	if err := os.Link(precious, location+".lock"); err != nil {
		t.Fatal(err)
	}
	err := store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) { return &StoredToken{AccessToken: "a"}, nil })
	if err == nil || !strings.Contains(err.Error(), location+".lock") || !strings.Contains(err.Error(), "links") {
		t.Errorf("a lock that is a hard link: %v", err)
	}
	if data, _ := os.ReadFile(precious); string(data) != content {
		t.Errorf("the file hard-linked as the lock was changed to %q", data)
	}

	os.Remove(location + ".lock")
	os.WriteFile(precious, []byte(`{"version": 1, "entries": {"k": {"access_token": "planted"}}}`), 0o600)
	if err := os.Link(precious, location); err != nil {
		t.Fatal(err)
	}
	if entry, err := store.Load("k"); err == nil || !strings.Contains(err.Error(), location) || !strings.Contains(err.Error(), "links") {
		t.Errorf("a store that is a hard link was read: %v %v", entry, err)
	}
}

// TestStoreRefusesFilesOthersMayUse: a store or lock that other users may
// read or write (a 0666 file in a shared directory) is refused, with the
// command that fixes it.
func TestStoreRefusesFilesOthersMayUse(t *testing.T) {
	location := filepath.Join(sharedDir(t), "tokens.json")
	store, _ := OpenStore(location)
	os.WriteFile(location, []byte(`{"version": 1, "entries": {"k": {"access_token": "planted"}}}`), 0o600)
	os.Chmod(location, 0o666)
	if entry, err := store.Load("k"); err == nil || !strings.Contains(err.Error(), "chmod 600 "+location) {
		t.Errorf("a store others may write was read: %v %v", entry, err)
	}
	os.Chmod(location, 0o600)
	os.WriteFile(location+".lock", nil, 0o600)
	os.Chmod(location+".lock", 0o644)
	err := store.Update(context.Background(), "k", func(*StoredToken) (*StoredToken, error) { return nil, nil })
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+location+".lock") {
		t.Errorf("a lock others may read: %v", err)
	}
}

// TestVerifierIsRedeemedOnlyWhenTheStoreCanKeepTheTokens: a connection
// with OAuthVerifier redeems the code under the store's lock, once the
// store's next version is prepared. A process that cannot write the store
// fails without spending the code, and the next one completes the login.
func TestVerifierIsRedeemedOnlyWhenTheStoreCanKeepTheTokens(t *testing.T) {
	ctx := context.Background()
	location := tokenStore(t)
	s := fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthSettingsLocation=%s", shared.Info().WorkspaceURL, location)
	a, err := StartHeadless(ctx, parse(t, "%s", s))
	if err != nil {
		t.Fatal(err)
	}
	conn := fmt.Sprintf("%s;OAuthVerifier='%s'", s, followAuthorize(t, a.URL).String())
	if _, err := tokenInChild(conn, fileSizeLimitEnv+"=16"); err == nil || !strings.Contains(err.Error(), location) {
		t.Errorf("a process that cannot write the store: %v, want an error naming %s", err, location)
	}
	tok, err := tokenInChild(conn)
	if err != nil {
		t.Fatalf("the next process, with room, with the same verifier: %v", err)
	}
	if status, body := appGet(t, shared, "/api/whoami", tok); status != 200 {
		t.Errorf("its token: %d %s", status, body)
	}
}

// TestLoginTokensAreKeptWhenTheStoreIsBusy: tokens a browser login
// obtained are kept (and the log says they were not saved, and where) when
// the store's lock cannot be had within Timeout.
func TestLoginTokensAreKeptWhenTheStoreIsBusy(t *testing.T) {
	cfg := browser()
	location := tokenStore(t)
	logfile := filepath.Join(t.TempDir(), "lakelink.log")
	store, _ := OpenStore(location)
	held, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- store.Update(context.Background(), "held", func(*StoredToken) (*StoredToken, error) {
			close(held)
			<-release
			return nil, nil
		})
	}()
	<-held
	src, err := cfg.NewTokenSource(parse(t, "Host=%s;AuthScheme=OAuthPKCE;CallbackURL=%s;Timeout=1;OAuthSettingsLocation=%s;Logfile=%s",
		shared.Info().WorkspaceURL, freeCallback(t), location, logfile))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("a browser login whose tokens the busy store could not take: %v", err)
	}
	if status, body := appGet(t, shared, "/api/whoami", tok.AccessToken); status != 200 {
		t.Errorf("its token: %d %s", status, body)
	}
	if log, _ := os.ReadFile(logfile); !strings.Contains(string(log), "not saved") || !strings.Contains(string(log), location) {
		t.Errorf("the log does not say where the tokens were not saved:\n%s", log)
	}
	if again, err := src.Token(); err != nil || again.AccessToken != tok.AccessToken {
		t.Errorf("the next token of the source: %v, want the kept one", err)
	}
}

// removeNextVersions removes the store's prepared next versions until done
// yields: a store whose new version vanishes before it is put in place.
func removeNextVersions(t *testing.T, location string, done <-chan struct{}) {
	t.Helper()
	removed := false
	for {
		select {
		case <-done:
			if !removed {
				t.Fatal("no new version of the store was prepared while the token endpoint answered")
			}
			return
		case <-time.After(5 * time.Millisecond):
			temps, _ := filepath.Glob(filepath.Join(filepath.Dir(location), ".oauth-tokens-*"))
			for _, tmp := range temps {
				removed = os.Remove(tmp) == nil || removed
			}
		}
	}
}

// TestUnsavedTokensAreSharedByTheProcess: tokens a renewal could not save
// belong to the store, not to the connection that renewed: another
// connection of the process to the same identity (here with another
// Timeout) uses them, and never the stored refresh token already redeemed.
func TestUnsavedTokensAreSharedByTheProcess(t *testing.T) {
	e := shortLived(t, time.Hour)
	location := tokenStore(t)
	conn := expiredLogin(t, e.Info().WorkspaceURL, location)
	a, err := NewTokenSource(parse(t, "%s;Timeout=30", conn))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTokenSource(parse(t, "%s;Timeout=31", conn))
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	fault(t, e, `{"endpoint": "token", "kind": "hang", "duration": "1s"}`)
	done := make(chan struct{})
	var tokA *oauth2.Token
	go func() { tokA, err = a.Token(); close(done) }()
	removeNextVersions(t, location, done)
	if err != nil {
		t.Fatalf("A, whose renewal was not saved: %v", err)
	}
	tokB, err := b.Token()
	if err != nil {
		t.Fatalf("B: %v", err)
	}
	if tokB.AccessToken != tokA.AccessToken {
		t.Error("B did not use the tokens A renewed")
	}
	if _, err := b.Renew(context.Background(), tokB.AccessToken); err != nil {
		t.Errorf("B renewing with the unsaved refresh token: %v", err)
	}
	after := e.Stats()
	if d := after.RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh tokens reused: %d, want 0", d)
	}
}

// TestRefreshStoredReturnsTokensItCouldNotSave: when the store's new
// version cannot be put in place after the refresh token was redeemed,
// RefreshStored returns the new tokens with a *NotSavedError naming the
// store, so that the caller can hand them to the user.
func TestRefreshStoredReturnsTokensItCouldNotSave(t *testing.T) {
	e := shortLived(t, time.Hour)
	location := tokenStore(t)
	conn := expiredLogin(t, e.Info().WorkspaceURL, location)
	fault(t, e, `{"endpoint": "token", "kind": "hang", "duration": "1s"}`)
	done := make(chan struct{})
	var tokens *OAuthTokens
	var err error
	go func() { tokens, _, err = RefreshStored(context.Background(), parse(t, "%s", conn)); close(done) }()
	removeNextVersions(t, location, done)
	var notSaved *NotSavedError
	if !errors.As(err, &notSaved) || !strings.Contains(err.Error(), location) {
		t.Fatalf("RefreshStored whose store could not be replaced: %v, want a NotSavedError naming %s", err, location)
	}
	if tokens == nil || tokens.OAuthRefreshToken == "" {
		t.Fatalf("RefreshStored dropped the tokens it could not save: %v", tokens)
	}
	if _, err := RefreshOAuthAccessToken(context.Background(), parse(t, "Host=%s", e.Info().WorkspaceURL), tokens.OAuthRefreshToken); err != nil {
		t.Errorf("the returned refresh token: %v", err)
	}
}

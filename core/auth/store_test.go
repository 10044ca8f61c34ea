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
	top, err := os.MkdirTemp("", "lakelink-read-only-*") // not t.TempDir(), whose parent is closed to others
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	location := filepath.Join(top, "store", "tokens.json")
	conn := expiredLogin(t, e.Info().WorkspaceURL, location)
	os.WriteFile(location+".lock", nil, 0o600)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if os.Geteuid() == 0 {
		const nobody = 65534
		for _, path := range []string{filepath.Dir(location), location, location + ".lock"} {
			if err := os.Chown(path, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		// nobody needs a way to the store and a copy of this test binary it may run.
		os.Chmod(top, 0o755)
		for dir := filepath.Dir(top); dir != "/"; dir = filepath.Dir(dir) {
			if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
				t.Skipf("%s is closed to other users", dir)
			}
		}
		binary := filepath.Join(top, "auth.test")
		var data []byte
		if data, err = os.ReadFile(os.Args[0]); err == nil {
			err = os.WriteFile(binary, data, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(binary, "-test.run=^$")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	os.Chmod(filepath.Dir(location), 0o500)
	t.Cleanup(func() { os.Chmod(filepath.Dir(location), 0o700) })
	before := e.Stats()
	var out []byte

	cmd.Env = append(os.Environ(), helperEnv+"="+conn)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), location) {
		t.Errorf("a process that cannot write the store's directory: %v %s, want an error naming %s", err, out, location)
	}
	if d := e.Stats().RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 0 {
		t.Errorf("the process that could not write the store redeemed %d refresh tokens, want 0", d)
	}
	os.Chmod(filepath.Dir(location), 0o700)
	if os.Geteuid() == 0 {
		cmd = exec.Command(cmd.Path, "-test.run=^$")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		cmd = exec.Command(os.Args[0], "-test.run=^$")
	}
	cmd.Env = append(os.Environ(), helperEnv+"="+conn)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the next process, with a writable directory: %v %s", err, out)
	}
	if d := e.Stats().RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh tokens reused: %d, want 0", d)
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

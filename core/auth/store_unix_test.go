//go:build unix

package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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

// limitFileSize makes limit the largest file (in bytes) this process may
// write (RLIMIT_FSIZE, which binds root too).
func limitFileSize(limit uint64) error {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit})
}

// checkPrivate checks that the token store at location is mode 0600 in a
// 0700 directory.
func checkPrivate(t *testing.T, location string) {
	t.Helper()
	for path, want := range map[string]os.FileMode{location: 0o600, filepath.Dir(location): 0o700} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

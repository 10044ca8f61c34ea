package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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

// TestStoreReplacedWhileOpenedIsNotRefused: a store file that another
// process replaced (its next version renamed over it) after it was opened
// has no name left: that is not a hard link, and reading opens the new
// version instead of failing.
func TestStoreReplacedWhileOpenedIsNotRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a file open on Windows cannot be replaced")
	}
	path := filepath.Join(t.TempDir(), "tokens.json")
	os.WriteFile(path, []byte("old"), 0o600)
	f, err := openFile(path, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	next := path + ".next"
	os.WriteFile(next, []byte("new"), 0o600)
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	if err := checkOwn(f); !errors.Is(err, errReplaced) {
		t.Errorf("the replaced file: %v", err)
	}
	if data, err := readOwn(path); err != nil || string(data) != "new" {
		t.Errorf("read %q, %v", data, err)
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

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// holdStoreLock holds the lock of the token store at location, as another
// process would, until release is called.
func holdStoreLock(t *testing.T, location string) (release func()) {
	t.Helper()
	store, err := auth.OpenStore(location)
	if err != nil {
		t.Fatal(err)
	}
	held, done := make(chan struct{}), make(chan struct{})
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- store.Update(context.Background(), "held", func(*auth.StoredToken) (*auth.StoredToken, error) {
			close(held)
			<-done
			return nil, nil
		})
	}()
	<-held
	return func() {
		close(done)
		if err := <-holderDone; err != nil {
			t.Errorf("the holder: %v", err)
		}
	}
}

// TestOAuthRefreshWaitsForTheStoreLockAtMostTimeout: while another process
// holds the token store's lock, `lakelink oauth refresh` with Timeout=3
// gives up after about 3 s and names the process that holds it.
func TestOAuthRefreshWaitsForTheStoreLockAtMostTimeout(t *testing.T) {
	c := newCLI(t)
	location := filepath.Join(t.TempDir(), "lakelink", "tokens.json")
	release := holdStoreLock(t, location)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, "oauth", "refresh", "--connection",
		"Host="+c.em.Info().WorkspaceURL+";Timeout=3;OAuthSettingsLocation="+location)
	cmd.Env = c.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	release()
	if ctx.Err() != nil {
		t.Fatalf("lakelink oauth refresh with Timeout=3 still waited for the store lock after %s", took.Round(time.Second))
	}
	if err == nil || took < 3*time.Second || took > 10*time.Second {
		t.Errorf("lakelink oauth refresh with Timeout=3 ended after %s: %v", took.Round(time.Millisecond), err)
	}
	if msg := stderr.String(); !strings.Contains(msg, location) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("the error does not name the store and the process holding its lock (pid %d):\n%s", os.Getpid(), msg)
	}
}

// TestLoginPrintsTokensItCouldNotStore: when the token store cannot take
// the tokens of a completed login (here its lock stays held past Timeout),
// `lakelink login` prints them with a warning naming the store, so that the
// user can keep them, and exits 1.
func TestLoginPrintsTokensItCouldNotStore(t *testing.T) {
	c := newCLI(t)
	location := filepath.Join(t.TempDir(), "lakelink", "tokens.json")
	release := holdStoreLock(t, location)
	out, errOut, code := c.run(nil, "login", "--connection", "Host="+c.em.Info().WorkspaceURL+";Timeout=1;OAuthSettingsLocation="+location)
	release()
	if code != 1 || !strings.Contains(errOut, "not saved") || !strings.Contains(errOut, location) {
		t.Errorf("login whose tokens the store could not take: exit %d, stderr:\n%s", code, errOut)
	}
	var refreshToken string
	for _, line := range strings.Split(out, "\n") {
		if rt, ok := strings.CutPrefix(line, "OAuthRefreshToken="); ok {
			refreshToken = rt
		}
	}
	if refreshToken == "" {
		t.Fatalf("the tokens were not printed:\n%s", out)
	}
	o, err := connstr.Parse("Host=" + c.em.Info().WorkspaceURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.RefreshOAuthAccessToken(context.Background(), o, refreshToken); err != nil {
		t.Errorf("the printed refresh token: %v", err)
	}
}

package auth

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// helperEnv carries a connection string to a child process, which prints
// a token for it (see helperProcess).
const helperEnv = "LAKELINK_TEST_TOKEN_FOR"

// fileSizeLimitEnv, when set, is the largest file (in bytes) a child
// process may write (RLIMIT_FSIZE, which binds root too): a disk that is
// full as far as that process is concerned.
const fileSizeLimitEnv = "LAKELINK_TEST_FILE_SIZE_LIMIT"

func helperProcess() int {
	if limit, err := strconv.ParseUint(os.Getenv(fileSizeLimitEnv), 10, 64); err == nil {
		if err := limitFileSize(limit); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	o, err := connstr.Parse(os.Getenv(helperEnv))
	if err == nil {
		var src *Source
		if src, err = NewTokenSource(o); err == nil {
			tok, err := src.Token()
			if err == nil {
				fmt.Println(tok.AccessToken)
				return 0
			}
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// TestTwoProcessesRefreshOnce: two processes find the same stored token
// expired at once. Under the store's file lock, one redeems the rotating
// refresh token and the other finds the renewed entry: the refresh token is
// used exactly once and both end with a valid token.
func TestTwoProcessesRefreshOnce(t *testing.T) {
	e := shortLived(t, 30*time.Second)
	ctx := context.Background()
	o := parse(t, "Host=%s", e.Info().WorkspaceURL)
	a, _ := GetOAuthAuthorizationURL(ctx, o, "http://localhost:8020", "", "")
	tokens, err := GetOAuthAccessToken(ctx, o, followAuthorize(t, a.URL).Query().Get("code"), AuthModeWeb, "http://localhost:8020", "", a.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	location := tokenStore(t)
	store, _ := OpenStore(location)
	key := StoreKey(e.Info().WorkspaceURL, DefaultClientID, DefaultUserScopes)
	expired := &StoredToken{AccessToken: tokens.OAuthAccessToken, RefreshToken: tokens.OAuthRefreshToken,
		Expiry: time.Now().Add(-time.Minute), UpdatedAt: time.Now().Add(-time.Hour)}
	if err := store.Update(context.Background(), key, func(*StoredToken) (*StoredToken, error) { return expired, nil }); err != nil {
		t.Fatal(err)
	}
	before := e.Stats()

	conn := fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthSettingsLocation=%s", e.Info().WorkspaceURL, location)
	var wg sync.WaitGroup
	outputs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+conn)
			out, err := cmd.Output()
			outputs[i], errs[i] = strings.TrimSpace(string(out)), err
			if exitErr, ok := err.(*exec.ExitError); ok {
				errs[i] = fmt.Errorf("%v: %s", err, exitErr.Stderr)
			}
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if status, body := appGet(t, e, "/api/whoami", outputs[i]); status != 200 {
			t.Errorf("process %d's token: %d %s", i, status, body)
		}
	}
	after := e.Stats()
	if d := after.RefreshTokensRedeemed - before.RefreshTokensRedeemed; d != 1 {
		t.Errorf("refresh tokens redeemed: %d, want exactly 1", d)
	}
	if d := after.RefreshTokensReused - before.RefreshTokensReused; d != 0 {
		t.Errorf("refresh tokens reused: %d, want 0", d)
	}
	if outputs[0] != outputs[1] {
		t.Error("the processes ended with different tokens: both refreshed")
	}
}

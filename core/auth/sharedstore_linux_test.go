package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/lakelink/lakelink/core/internal/soak"
)

// watchStore parses the token file after every write (an inotify
// IN_MOVED_TO: the store renames each new version into place) until stop
// is closed, and reports how many writes it saw and what was wrong with
// any version: not parsing, or an entry of keys missing.
func watchStore(t *testing.T, path string, keys []string, stop <-chan struct{}) (writes *int, problems *[]string, done <-chan struct{}) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.InotifyAddWatch(fd, filepath.Dir(path), syscall.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	writes, problems = new(int), new([]string)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer syscall.Close(fd)
		buf := make([]byte, 64<<10)
		for {
			n, err := syscall.Read(fd, buf)
			if errors.Is(err, syscall.EAGAIN) {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				continue
			}
			if err != nil {
				*problems = append(*problems, "inotify: "+err.Error())
				return
			}
			wrote := false
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				if name == filepath.Base(path) {
					*writes++
					wrote = true
				}
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
			if !wrote {
				continue
			}
			data, err := os.ReadFile(path)
			var f storeFile
			if err == nil {
				err = json.Unmarshal(data, &f)
			}
			if err != nil {
				*problems = append(*problems, fmt.Sprintf("write %d: %v", *writes, err))
				continue
			}
			for _, k := range keys {
				if e := f.Entries[k]; e == nil || e.RefreshToken == "" {
					*problems = append(*problems, fmt.Sprintf("write %d: the entry %q is lost", *writes, k))
				}
			}
		}
	}()
	return writes, problems, finished
}

// TestProcessesShareRotatingRefreshTokens: four processes share one token
// file and, with tokens living 2 s, each keeps taking tokens for a login
// they all use and for one of its own, for 10 s (a minute in the long
// version). Every refresh token, which the server rotates, is redeemed
// once (no invalid_grant), the file parses after every write, and no
// entry is lost.
func TestProcessesShareRotatingRefreshTokens(t *testing.T) {
	const processes = 4
	run := soak.Pick(10*time.Second, time.Minute)
	e := shortLived(t, 2*time.Second)
	ctx := context.Background()
	host := e.Info().WorkspaceURL
	location := tokenStore(t)
	store, err := OpenStore(location)
	if err != nil {
		t.Fatal(err)
	}
	// One login all the processes use, and one each: other scopes, so
	// other entries.
	scopes := []string{"all-apis", "sql", "files", "dashboards.genie", "iam.current-user:read"}
	var keys []string
	for _, scope := range scopes {
		tokens := webTokens(t, parse(t, "Host=%s;Scope=%s", host, scope))
		key := StoreKey(host, DefaultClientID, []string{scope})
		keys = append(keys, key)
		entry := &StoredToken{AccessToken: tokens.OAuthAccessToken, RefreshToken: tokens.OAuthRefreshToken,
			Expiry: time.Now().Add(-time.Second), Scopes: []string{scope, "offline_access"}, UpdatedAt: time.Now()}
		if err := store.Update(context.Background(), key, func(*StoredToken) (*StoredToken, error) { return entry, nil }); err != nil {
			t.Fatal(err)
		}
	}
	conn := func(scope string) string {
		return fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthSettingsLocation=%s;Scope=%s", host, location, scope)
	}

	stop := make(chan struct{})
	writes, problems, watched := watchStore(t, location, keys, stop)
	before := e.Stats()
	reports := make([]refreshWorkerReport, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), refreshWorkerEnv+"="+conn(scopes[0])+"\n"+conn(scopes[1+i]), refreshWorkerForEnv+"="+run.String())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err == nil {
				err = json.Unmarshal(out, &reports[i])
			}
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, stderr.String())
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-watched
	after := e.Stats()

	var tokens int
	var failures []string
	for i := range processes {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		tokens += reports[i].Tokens
		failures = append(failures, reports[i].Errors...)
	}
	invalidGrants := 0
	for _, f := range failures {
		if strings.Contains(f, "invalid_grant") {
			invalidGrants++
		}
	}
	// Every entry ends holding the current refresh token: redeeming it works.
	final, err := OpenStore(location)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i, key := range keys {
		entry, err := final.Load(key)
		if err != nil || entry == nil {
			lost++
			t.Errorf("entry %q: %v %v", key, entry, err)
			continue
		}
		if _, err := RefreshOAuthAccessToken(ctx, parse(t, "Host=%s;Scope=%s", host, scopes[i]), entry.RefreshToken); err != nil {
			t.Errorf("the stored refresh token of %q no longer works: %v", key, err)
		}
	}
	redeemed := after.RefreshTokensRedeemed - before.RefreshTokensRedeemed
	reused := after.RefreshTokensReused - before.RefreshTokensReused
	soak.Record(t, "processes sharing a token file", map[string]any{"processes": processes, "run_s": run.Seconds(), "token_ttl_s": 2,
		"tokens_taken": tokens, "refreshes": redeemed, "refresh_tokens_reused": reused, "invalid_grant": invalidGrants,
		"failed_token_calls": len(failures), "file_writes_seen": *writes, "corrupt_or_incomplete_versions": len(*problems),
		"entries": len(keys), "entries_lost": lost, "first_failures": failures[:min(len(failures), 3)]})
	if len(failures) > 0 {
		t.Errorf("%d token calls failed (%d invalid_grant); first: %q", len(failures), invalidGrants, failures[:min(len(failures), 3)])
	}
	if reused > 0 {
		t.Errorf("%d refresh tokens were used twice", reused)
	}
	if len(*problems) > 0 {
		t.Errorf("the token file was wrong after %d of %d writes; first: %s", len(*problems), *writes, (*problems)[0])
	}
	// Each process's own login alone renews every 1.5 s or so.
	if min := int(run.Seconds()); redeemed < min || *writes < min {
		t.Errorf("%d refreshes and %d writes in %s: too few to test anything", redeemed, *writes, run)
	}
}

package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// webTokens runs the web flow against e and returns its tokens.
func webTokens(t *testing.T, o *connstr.Options) *OAuthTokens {
	t.Helper()
	ctx := context.Background()
	a, err := GetOAuthAuthorizationURL(ctx, o, "http://localhost:8020", "", "")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := GetOAuthAccessToken(ctx, o, followAuthorize(t, a.URL).Query().Get("code"), AuthModeWeb, "http://localhost:8020", "", a.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// TestRefreshIsNotRetriedAfterAnAnswerMayBeLost: a refresh token works
// once, so a 5xx (the server may have rotated it) is not retried.
func TestRefreshIsNotRetriedAfterAnAnswerMayBeLost(t *testing.T) {
	e := shortLived(t, time.Hour)
	tokens := webTokens(t, parse(t, "Host=%s", e.Info().WorkspaceURL))
	fault(t, e, `{"endpoint": "token", "kind": "500", "count": 1}`)
	before := e.Stats()
	o := parse(t, "Host=%s", e.Info().WorkspaceURL)
	_, err := RefreshOAuthAccessToken(context.Background(), o, tokens.OAuthRefreshToken)
	if err == nil || !strings.Contains(err.Error(), "not retried") {
		t.Errorf("a 500 on refresh: %v, want an error saying it was not retried", err)
	}
	if d := e.Stats().Calls["token"] - before.Calls["token"]; d != 1 {
		t.Errorf("%d token calls, want 1", d)
	}
	// The emulator's fault answered before using the token: it still works.
	if _, err := RefreshOAuthAccessToken(context.Background(), o, tokens.OAuthRefreshToken); err != nil {
		t.Errorf("the refresh token after the 500: %v", err)
	}
}

// TestRenewBypassesCaches: a refused token is replaced for every kind of
// source, including a stored login whose token is not yet due.
func TestRenewBypassesCaches(t *testing.T) {
	e := shortLived(t, time.Hour)
	tokens := webTokens(t, parse(t, "Host=%s", e.Info().WorkspaceURL))
	sp := e.Info().ServicePrincipal
	t.Setenv("HOME", t.TempDir())
	for name, conn := range map[string]string{
		"client credentials": m2m(e),
		"stored user login": fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthRefreshToken=%s;OAuthSettingsLocation=%s",
			e.Info().WorkspaceURL, tokens.OAuthRefreshToken, tokenStore(t)),
		"SDK chain": fmt.Sprintf("AuthScheme=Databricks;Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", e.Info().WorkspaceURL, sp.ClientID, sp.ClientSecret),
	} {
		t.Run(name, func(t *testing.T) {
			src, err := NewTokenSource(parse(t, "%s", conn))
			if err != nil {
				t.Fatal(err)
			}
			first, err := src.Token()
			if err != nil {
				t.Fatal(err)
			}
			renewed, err := src.Renew(context.Background(), first.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if renewed.AccessToken == first.AccessToken {
				t.Error("Renew returned the refused token")
			}
			again, _ := src.Token()
			if again.AccessToken != renewed.AccessToken {
				t.Error("the renewed token is not the one cached")
			}
		})
	}
}

// TestFailedEarlyRenewalDoesNotStallCallers: while the token is still
// valid, one failed early renewal holds off the others.
func TestFailedEarlyRenewalDoesNotStallCallers(t *testing.T) {
	e := shortLived(t, 8*time.Second) // the token's lifetime is 7 s: expires_in less a second
	src, err := NewTokenSource(parse(t, "%s;Timeout=1", m2m(e)))
	if err != nil {
		t.Fatal(err)
	}
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5600 * time.Millisecond) // inside the last quarter of its life, more than Timeout before its end
	fault(t, e, `{"endpoint": "token", "kind": "500", "count": 1000}`)
	start := time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := src.Token()
			if err != nil || tok.AccessToken != first.AccessToken {
				t.Errorf("a caller got %v", err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 1800*time.Millisecond {
		t.Errorf("5 callers took %v: each retried the renewal in turn", d)
	}
}

// TestRenewsAt: a source says when it will renew its token, and until then
// Token returns that same token; after, a new one. For another token, or
// none, it says nothing.
func TestRenewsAt(t *testing.T) {
	e := shortLived(t, 9*time.Second) // a lifetime of 8 s: renewed a quarter of it, 2 s, before its end
	src, err := NewTokenSource(parse(t, "%s", m2m(e)))
	if err != nil {
		t.Fatal(err)
	}
	if !src.RenewsAt("").IsZero() {
		t.Fatal("RenewsAt before any token")
	}
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	at := src.RenewsAt(first.AccessToken)
	if want := first.Expiry.Add(-time.Until(first.Expiry) / 4); at.Sub(want).Abs() > 500*time.Millisecond || !at.Before(first.Expiry) {
		t.Fatalf("RenewsAt %v, want about %v (expiry %v)", at, want, first.Expiry)
	}
	if !src.RenewsAt("another token").IsZero() {
		t.Fatal("RenewsAt for a token the source does not hold")
	}
	time.Sleep(time.Until(at) - time.Second)
	if tok, _ := src.Token(); tok.AccessToken != first.AccessToken {
		t.Fatal("a new token before RenewsAt")
	}
	time.Sleep(time.Until(at) + 100*time.Millisecond)
	if !src.RenewsAt(first.AccessToken).IsZero() {
		t.Fatal("RenewsAt past: the renewal is due")
	}
	if tok, _ := src.Token(); tok.AccessToken == first.AccessToken || !src.RenewsAt(tok.AccessToken).After(at) {
		t.Fatal("the same token after RenewsAt")
	}
}

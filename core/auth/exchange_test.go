package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// jwtWithExp is an unsigned JWT whose exp claim is exp.
func jwtWithExp(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"sub": "sp", "exp": exp.Unix()})
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + ".sig"
}

// TestTokenExpiryIgnoresTheServersClock: the expiry is the time the token
// request was sent plus expires_in less a second, whatever the JWT's exp
// says (a server clock behind or ahead of ours), and a token whose exp is
// already past by our clock is not renewed on every call.
func TestTokenExpiryIgnoresTheServersClock(t *testing.T) {
	for _, c := range []struct {
		name      string
		expiresIn int
		skew      time.Duration // the server's clock less ours
	}{
		{"server clock 10 s behind", 60, -10 * time.Second},
		{"exp already past by our clock", 20, -25 * time.Second},
		{"server clock an hour behind", 60, -time.Hour},
		{"server clock 20 s ahead", 60, 20 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			const delay = 500 * time.Millisecond // the answer is slow: expires_in counts from before it
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(delay)
				w.Header().Set("Content-Type", "application/json")
				lifetime := time.Duration(c.expiresIn) * time.Second
				fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d}`, jwtWithExp(time.Now().Add(c.skew+lifetime)), c.expiresIn)
			}))
			defer srv.Close()
			before := time.Now()
			tok, err := exchange(context.Background(), http.DefaultClient, nopLogger, srv.URL, url.Values{"grant_type": {"client_credentials"}},
				clientAuth{id: "id", secret: "secret", basic: true})
			after := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			life := time.Duration(c.expiresIn-1) * time.Second
			lo, hi := before.Add(life), after.Add(life-delay)
			if tok.Expiry.Before(lo) || tok.Expiry.After(hi) {
				t.Errorf("expiry %s after the request, want sent-at + expires_in - 1 s (%s to %s)",
					tok.Expiry.Sub(before), lo.Sub(before), hi.Sub(before))
			}
			if NeedsRenewal(tok.Expiry, after, after) || NeedsRenewal(tok.Expiry, after, after.Add(life/2)) {
				t.Error("a fresh token needs renewal before three quarters of its life: a renewal per call")
			}
		})
	}
}

// TestParseTokenResponseExpiry: sent-at + expires_in − 1 s, for a number
// or a string, whatever the JWT's exp.
func TestParseTokenResponseExpiry(t *testing.T) {
	sentAt := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	h := http.Header{"Content-Type": {"application/json"}}
	for _, c := range []struct {
		expiresIn string
		exp       time.Time
		want      time.Duration
	}{
		{`3600`, sentAt.Add(3590 * time.Second), 3599 * time.Second}, // exp a little earlier: not followed
		{`"3600"`, sentAt.Add(-2 * time.Hour), 3599 * time.Second},   // exp already past
		{`120`, sentAt.Add(24 * time.Hour), 119 * time.Second},       // exp much later
		{`1`, time.Time{}, 0},
	} {
		tok := jwtWithExp(c.exp)
		if c.exp.IsZero() {
			tok = "opaque-token"
		}
		got, err := parseTokenResponse(200, h, fmt.Appendf(nil, `{"access_token":%q,"expires_in":%s}`, tok, c.expiresIn), sentAt)
		if err != nil {
			t.Fatal(err)
		}
		if d := got.Expiry.Sub(sentAt); d != c.want {
			t.Errorf("expires_in %s, exp %s: expiry sent-at + %s, want + %s", c.expiresIn, c.exp, d, c.want)
		}
	}
}

// TestRetryNamesTheEarlierFailureWhenTheTimeoutCutsTheLastShort: when the
// Timeout runs out during an attempt, that attempt says only "context
// deadline exceeded"; the error also gives the attempt before's reason
// (here an oversized answer), which is what the user needs to know.
func TestRetryNamesTheEarlierFailureWhenTheTimeoutCutsTheLastShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	attempts := 0
	_, err := retry(ctx, nopLogger, "token request", func(ctx context.Context) (int, error) {
		attempts++
		if attempts == 1 {
			return 0, &transientError{err: fmt.Errorf("token endpoint answered 200 OK with a body larger than 1 MiB")}
		}
		<-ctx.Done()
		return 0, &transientError{err: fmt.Errorf("Post %q: %w", "http://127.0.0.1/oidc/v1/token", ctx.Err())}
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"gave up after 2 attempts", "the Timeout ran out", "larger than 1 MiB", "context deadline exceeded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

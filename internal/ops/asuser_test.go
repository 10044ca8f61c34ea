package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/lakebase"
)

// TestAcquireClassifiesUserTokens: through Acquire (lakelink_pool_acquire),
// an App user token without a bearer token's shape is an invalid argument,
// and one the workspace refuses, or expired, is an auth error (not a
// database one); none is echoed, and a user's real token is served.
func TestAcquireClassifiesUserTokens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Config{AppUserAPIScopes: []string{"sql"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	info := e.Info()
	p := Ops{Config: &lakebase.Config{Auth: &auth.Config{}}}
	pool, err := p.OpenPool(ctx, Conn{fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s;Server=%s;Port=%d;Instance=%s;"+
		"SSLMode=verify-full;SSLServerCert=%s", info.WorkspaceURL, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret,
		info.Lakebase.Host, info.Lakebase.Port, info.Lakebase.Instance, info.Lakebase.CAFile)})
	if err != nil {
		t.Fatal(err)
	}
	defer ClosePool(pool)
	user, err := e.AddUser(ctx, "classify@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, token string
		want        Code
	}{
		{"two tokens", user + " " + user, InvalidArgument},
		{"a comma list", user + "," + user, InvalidArgument},
		{"Bearer before it", "Bearer " + user, InvalidArgument},
		{"over 64 KiB", strings.Repeat("a", 65<<10), InvalidArgument},
		{"not a token the workspace knows", "not-a-token-SECRET-4711", Auth},
		{"its signature broken", user[:len(user)-8] + "AAAAAAAA", Auth},
		{"expired", expiredToken(), Auth},
	} {
		conn, err := Acquire(ctx, pool, c.token)
		var classified *Error
		switch {
		case err == nil:
			conn.Close()
			t.Errorf("%s: served", c.name)
		case !errors.As(err, &classified) || classified.Code != c.want:
			t.Errorf("%s: %v (code %d), want code %d", c.name, err, Of(err, Internal).Code, c.want)
		case strings.Contains(classified.Message, c.token[max(0, len(c.token)-20):]):
			t.Errorf("%s: the token in the error: %s", c.name, classified.Message)
		default:
			t.Logf("%s: %d %s", c.name, classified.Code, classified.Message)
		}
	}
	conn, err := Acquire(ctx, pool, user)
	if err != nil {
		t.Fatal(err)
	}
	if err := Discard(conn); err != nil {
		t.Error(err)
	}
	if s := Stats(pool); s.Users != 1 || s.UserSessions != 0 {
		t.Errorf("after the user's session was discarded: %+v, want 1 user, 0 sessions", s)
	}
}

// TestTokenCallsKeepNothing: calls with AuthScheme=Token (Python's and
// Node's App.as_user with a user's token) keep no token source: with room
// for one identity in the configuration, a kept one survives any number
// of them. A Token without a bearer token's shape is an invalid argument
// that does not repeat it.
func TestTokenCallsKeepNothing(t *testing.T) {
	ctx := context.Background()
	cfg := &auth.Config{MaxIdentities: 1}
	p := Ops{Config: &lakebase.Config{Auth: cfg}}
	own, err := connstr.Parse("Host=https://w.example.com;OAuthClientId=app;OAuthClientSecret=secret")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := cfg.NewTokenSource(own)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		conn := fmt.Sprintf("Host=https://w.example.com;AuthScheme=Token;Token=dapi%04d", i)
		tok, err := p.GetToken(ctx, Conn{conn})
		if err != nil || tok.AccessToken != fmt.Sprintf("dapi%04d", i) {
			t.Fatalf("GetToken: %v, %v", tok, err)
		}
		a, err := p.AuthorizeApp(ctx, Authorize{Conn: conn, AppURL: "https://app.example.com", Method: "GET", URL: "/api/x"})
		if err != nil || a.Authorization != "Bearer "+tok.AccessToken {
			t.Fatalf("AuthorizeApp: %v, %v", a, err)
		}
	}
	if again, _ := cfg.NewTokenSource(own); again != kept {
		t.Error("AuthScheme=Token calls took the place of a kept token source")
	}

	for _, token := range []string{"user-SECRET-1,user-SECRET-2", "Bearer user-SECRET-1", "user SECRET-1", "user-SECRET\"1"} {
		conn := "Host=https://w.example.com;AuthScheme=Token;Token=" + token
		_, err := p.GetToken(ctx, Conn{conn})
		_, err2 := p.AuthorizeApp(ctx, Authorize{Conn: conn, AppURL: "https://app.example.com", Method: "GET", URL: "/api/x"})
		for _, err := range []error{err, err2} {
			f := Of(err, Internal)
			if f.Code != InvalidArgument || strings.Contains(f.Message, "SECRET") || strings.Contains(f.Message, "***") {
				t.Errorf("Token %q: %d %s, want an invalid argument without it", token, f.Code, f.Message)
			}
		}
	}
}

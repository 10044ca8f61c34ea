package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/emulator"
)

func TestUserToken(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJl"
	secret := "s3cretPart"
	for _, c := range []struct {
		name    string
		values  []string
		want    string // the token, or a phrase of the error
		missing bool
	}{
		{name: "one token", values: []string{jwt}, want: jwt},
		{name: "padded", values: []string{"abc+/_-~.def=="}, want: "abc+/_-~.def=="},
		{name: "missing", missing: true, want: "User authorization"},
		{name: "empty", values: []string{""}, missing: true, want: "User authorization"},
		{name: "two headers", values: []string{jwt, secret}, want: "2 X-Forwarded-Access-Token headers"},
		{name: "comma list", values: []string{secret + "," + jwt}, want: "comma-separated list"},
		{name: "two with a space", values: []string{secret + " " + jwt}, want: "spaces"},
		{name: "with Bearer", values: []string{"Bearer " + secret}, want: `starts with "Bearer "`},
		{name: "other characters", values: []string{secret + "\"<>"}, want: "a character an access token cannot have"},
		{name: "only padding", values: []string{"=="}, want: "only padding"},
		{name: "over 64 KiB", values: []string{secret + strings.Repeat("a", 64<<10)}, want: "more than the 64 KiB"},
		{name: "1 MB", values: []string{secret + strings.Repeat("a", 1<<20)}, want: "more than the 64 KiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/x", nil)
			for _, v := range c.values {
				r.Header.Add("X-Forwarded-Access-Token", v)
			}
			got, err := UserToken(r)
			if err == nil {
				if got != c.want {
					t.Fatalf("token %.20q, want %.20q", got, c.want)
				}
				return
			}
			if got != "" {
				t.Errorf("a token with the error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
			if errors.Is(err, ErrNoUserToken) != c.missing {
				t.Errorf("errors.Is(err, ErrNoUserToken) = %v", !c.missing)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("the error repeats the value: %q", err)
			}
		})
	}
}

// TestAsUser: with user authorization on, the app's handler reads the
// user's token from the request and calls an app as that user; an
// expired user token is diagnosed as one, and no error shows it.
func TestAsUser(t *testing.T) {
	e := startEmulator(t, emulator.Config{AppUserAPIScopes: []string{"sql"}, TokenTTL: 2 * time.Second})
	ctx := context.Background()
	session, err := e.AddUser(ctx, "gus@example.com")
	if err != nil {
		t.Fatal(err)
	}
	issued.Store(session, true)
	app, err := New(e.Info().AppURL, static(session))
	if err != nil {
		t.Fatal(err)
	}
	r, err := app.Get(ctx, "/api/echo")
	if err != nil {
		t.Fatal(err)
	}
	var echo struct{ Headers http.Header }
	if err := json.Unmarshal(r.Body, &echo); err != nil {
		t.Fatal(err)
	}
	token, err := UserToken(&http.Request{Header: echo.Headers})
	if err != nil {
		t.Fatal(err)
	}
	issued.Store(token, true)

	own, err := New(e.Info().AppURL, spSource(e, e.Info().ServicePrincipal, "all-apis")) // the app's own identity
	if err != nil {
		t.Fatal(err)
	}
	asUser, err := own.AsUser(token)
	if err != nil {
		t.Fatal(err)
	}
	r, err = asUser.Get(ctx, "/api/whoami")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Body), `"email":"gus@example.com"`) {
		t.Errorf("whoami as the user: %s", r.Body)
	}
	if who, _ := own.Get(ctx, "/api/whoami"); who == nil || strings.Contains(string(who.Body), "gus@") {
		t.Error("AsUser changed the App it was made from")
	}

	time.Sleep(time.Until(auth.Describe(token).ExpiresAt) + 100*time.Millisecond)
	_, err = asUser.Get(ctx, "/api/whoami")
	var appErr *Error
	if !errors.As(err, &appErr) || appErr.Kind != KindUnauthorized || !strings.Contains(appErr.Diagnosis, "App user's token") {
		t.Errorf("an expired user token: %v (%+v)", err, appErr)
	}
	noLeak(t, err)
}

// TestAsUserKeepsNoCookies: the App's cookie jar, which may hold a
// session of another identity, is not the user's.
func TestAsUserKeepsNoCookies(t *testing.T) {
	jar, _ := cookiejar.New(nil)
	a, err := New("https://app.example.com", static("app-token"), WithHTTPClient(&http.Client{Jar: jar}))
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.AsUser("user-token")
	if err != nil {
		t.Fatal(err)
	}
	if u.Client().Jar != nil {
		t.Error("AsUser's client has the App's cookie jar")
	}
	if a.Client().Jar != jar {
		t.Error("AsUser took the jar from the App it was made from")
	}
}

// TestAsUserChecksAndHidesTheToken: AsUser refuses a value without a
// bearer token's shape, and no verb prints the token of the App it makes.
func TestAsUserChecksAndHidesTheToken(t *testing.T) {
	a, err := New("https://app.example.com", static("app-token"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "tok-SECRET,tok-SECRET", "Bearer tok-SECRET", "tok SECRET"} {
		var shape *auth.BearerTokenError
		if u, err := a.AsUser(bad); u != nil || !errors.As(err, &shape) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("AsUser(%q): %v, %v", bad, u, err)
		}
	}
	for _, good := range []string{"dapi0123456789abcdef", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_", "abc~+/=="} {
		u, err := a.AsUser(good)
		if err != nil {
			t.Fatalf("AsUser(%q): %v", good, err)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			for _, v := range []any{u, *u, u.tokens} {
				if out := fmt.Sprintf(verb, v); strings.Contains(out, good[:8]) {
					t.Errorf("%s shows the token: %s", verb, out)
				}
			}
		}
	}
}

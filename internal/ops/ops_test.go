package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/lakebase"
)

func TestInstantIsRFC3339OrNull(t *testing.T) {
	for _, c := range []struct {
		at   Instant
		json string
		unix int64
	}{
		{Instant{}, `null`, 0},
		{Instant{time.Date(2026, 12, 7, 4, 0, 0, 123456789, time.FixedZone("CET", 3600))}, `"2026-12-07T03:00:00Z"`, 1796612400},
	} {
		got, err := json.Marshal(c.at)
		if err != nil || string(got) != c.json || c.at.Unix() != c.unix {
			t.Errorf("%v: JSON %s (%v), Unix %d; want %s, %d", c.at.Time, got, err, c.at.Unix(), c.json, c.unix)
		}
		var back Instant
		if err := json.Unmarshal(got, &back); err != nil || back.Unix() != c.unix {
			t.Errorf("%s read back as %v (%v)", got, back.Time, err)
		}
	}
}

func TestHeadersTakeAStringOrAList(t *testing.T) {
	var h Headers
	if err := json.Unmarshal([]byte(`{"x-one": "a", "X-Many": ["b", "c"], "X-None": []}`), &h); err != nil {
		t.Fatal(err)
	}
	if want := (Headers{"X-One": {"a"}, "X-Many": {"b", "c"}}); !reflect.DeepEqual(h, want) {
		t.Fatalf("got %v, want %v", h, want)
	}
	for _, bad := range []string{`["a"]`, `{"X": 1}`, `{"X": ["a", 2]}`, `"a: b"`} {
		var h Headers
		err := json.Unmarshal([]byte(bad), &h)
		if f := Of(err, Internal); err == nil || f.Code != InvalidArgument {
			t.Errorf("%s: %v (%+v), want an invalid argument", bad, err, f)
		}
	}
}

// expiredToken is a JWT that expired an hour ago: the token source refuses
// it with an error of no type the classification knows.
func expiredToken() string {
	payload, _ := json.Marshal(map[string]any{"sub": "u@example.com", "exp": time.Now().Add(-time.Hour).Unix()})
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
}

// TestOperationsClassifyTheirErrors: every operation returns an *Error;
// one of no known type takes the operation's own code.
func TestOperationsClassifyTheirErrors(t *testing.T) {
	ctx := context.Background()
	expired := "AuthScheme=Token;Host=http://127.0.0.1:9;Token=" + expiredToken()
	p := Ops{Config: &lakebase.Config{Auth: &auth.Config{}}}
	for _, c := range []struct {
		name string
		err  error
		want Code
	}{
		{"Normalize, bad key", second(Normalize(ctx, Conn{"Nope=1"})), ConnectionString},
		{"Merged, bad key", second(Merged(ctx, Merge{Conn: "Host=https://x", Overrides: map[string]*string{"Nope": nil}})), ConnectionString},
		{"GetToken, expired", second(p.GetToken(ctx, Conn{expired})), Auth},
		{"CallApp, expired token", second(p.CallApp(ctx, AppRequest{Conn: expired, AppURL: "http://127.0.0.1:9", URL: "/api/x"})), Auth},
		{"CallApp, no app_url", second(p.CallApp(ctx, AppRequest{Conn: expired, URL: "/api/x"})), InvalidArgument},
		{"CallApp, not /api/", second(p.CallApp(ctx, AppRequest{Conn: expired, AppURL: "http://127.0.0.1:9", URL: "/x"})), App},
		{"AuthorizeApp, expired", second(p.AuthorizeApp(ctx, Authorize{Conn: expired, AppURL: "http://127.0.0.1:9", URL: "/api/x"})), Auth},
		{"GetAccessToken, no verifier", second(p.GetAccessToken(ctx, AccessTokenRequest{Conn: "AuthScheme=OAuthPKCE;Host=http://127.0.0.1:9"})), Auth},
		{"Connect, bad key", second(p.Connect(ctx, Conn{"Nope=1"})), ConnectionString},
		{"OpenPool, bad key", second(p.OpenPool(ctx, Conn{"Nope=1"})), ConnectionString},
		{"OpenPool, MinConnections over MaxConnections", second(p.OpenPool(ctx, Conn{"AuthScheme=Password;Server=127.0.0.1;User=u;MinConnections=3;MaxConnections=2"})), ConnectionString},
		{"NextBatch, bad format", second(NextBatch(nil, Batch{Format: "csv"})), InvalidArgument},
	} {
		var classified *Error
		if !errors.As(c.err, &classified) || classified.Code != c.want {
			t.Errorf("%s: %#v, want an *Error of code %d", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestAnswersNeverShowSecrets: fmt shows no secret of an answer.
func TestAnswersNeverShowSecrets(t *testing.T) {
	const secret = "s3cret-value"
	for _, v := range []any{
		Token{AccessToken: secret, Principal: "u"},
		AuthorizationURL{URL: "https://x", State: "st", PKCEVerifier: secret},
		OAuthTokens{OAuthAccessToken: secret, OAuthRefreshToken: secret, ExpiresIn: 1},
		Authorization{URL: "https://x", Authorization: "Bearer " + secret},
		Credential{Host: "h", Password: secret},
	} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(format, v); strings.Contains(s, secret) {
				t.Errorf("%s of %T shows the secret: %s", format, v, s)
			}
		}
	}
}

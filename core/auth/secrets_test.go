package auth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/redact"
)

// TestSecretsNotInStringForms: no %v, %+v, %#v or %s of a type holding
// tokens or a PKCE verifier shows them, nor do redacted headers.
func TestSecretsNotInStringForms(t *testing.T) {
	secrets := []string{"access-secret-1", "refresh-secret-2", "verifier-secret-3"}
	for _, v := range []any{
		OAuthTokens{OAuthAccessToken: secrets[0], OAuthRefreshToken: secrets[1], ExpiresIn: 60, Scope: "sql"},
		AuthorizationURL{URL: "https://h/authorize", State: "s", PKCEVerifier: secrets[2]},
		StoredToken{AccessToken: secrets[0], RefreshToken: secrets[1], Pending: &PendingAuthorization{CodeVerifier: secrets[2]}},
		PendingAuthorization{CodeVerifier: secrets[2]},
	} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(format, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s of %T shows a secret: %s", format, v, out)
				}
			}
		}
	}
	h := http.Header{"Authorization": {"Bearer tok-secret"}, "Cookie": {"session=cookie-secret"}, "Proxy-Authorization": {"bare-secret"}}
	if out := redact.Header(h); strings.Contains(out, "secret") || !strings.Contains(out, "Bearer ***") {
		t.Errorf("redacted headers: %s", out)
	}
}

// TestSecretsNeverReachLogsOrErrors runs every flow at Verbosity 5 with a
// Logfile, and failing ones too, and looks for every secret involved.
func TestSecretsNeverReachLogsOrErrors(t *testing.T) {
	ctx := context.Background()
	logfile := t.TempDir() + "/lakelink.log"
	info := shared.Info()
	logged := fmt.Sprintf(";Logfile=%s;Verbosity=5", logfile)
	var secrets []string
	var errs []error
	keep := func(s ...string) { secrets = append(secrets, s...) }
	keep(info.ServicePrincipal.ClientSecret)

	src, err := NewTokenSource(parse(t, "%s%s", m2m(shared), logged))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	keep(tok.AccessToken)

	o := parse(t, "Host=%s%s", info.WorkspaceURL, logged)
	a, err := GetOAuthAuthorizationURL(ctx, o, "http://localhost:8020", "sql offline_access", "")
	if err != nil {
		t.Fatal(err)
	}
	code := followAuthorize(t, a.URL).Query().Get("code")
	keep(a.PKCEVerifier, code)
	tokens, err := GetOAuthAccessToken(ctx, o, code, AuthModeWeb, "http://localhost:8020", "", a.PKCEVerifier)
	if err != nil {
		t.Fatal(err)
	}
	keep(tokens.OAuthAccessToken, tokens.OAuthRefreshToken)
	refreshed, err := RefreshOAuthAccessToken(ctx, o, tokens.OAuthRefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	keep(refreshed.OAuthAccessToken, refreshed.OAuthRefreshToken)
	_, err = RefreshOAuthAccessToken(ctx, o, tokens.OAuthRefreshToken) // spent
	errs = append(errs, err)

	stored, _ := NewTokenSource(parse(t, "Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthRefreshToken=%s;OAuthSettingsLocation=%s%s",
		info.WorkspaceURL, refreshed.OAuthRefreshToken, tokenStore(t), logged))
	storedTok, err := stored.Token()
	if err != nil {
		t.Fatal(err)
	}
	keep(storedTok.AccessToken)

	wrong := "wrong-secret-0123456789"
	keep(wrong)
	bad, _ := NewTokenSource(parse(t, "Host=%s;OAuthClientId=%s;OAuthClientSecret=%s%s", info.WorkspaceURL, info.ServicePrincipal.ClientID, wrong, logged))
	_, err = bad.Token()
	errs = append(errs, err)
	_, err = connstr.Parse("OAuthClientSecret=" + wrong + ";Port=abc")
	errs = append(errs, err)

	log, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "http request") || !strings.Contains(string(log), "body=") {
		t.Fatalf("the log at Verbosity 5 lacks requests and bodies:\n%s", log)
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret under test is empty")
		}
		if strings.Contains(string(log), s) {
			t.Errorf("the log holds a secret (%d characters)", len(s))
		}
		for _, err := range errs {
			if err == nil {
				t.Fatal("an error case succeeded")
			}
			if strings.Contains(err.Error(), s) {
				t.Errorf("an error holds a secret: %v", err)
			}
		}
		if strings.Contains(src.String(), s) {
			t.Errorf("a source's String holds a secret")
		}
	}
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestCodeOfVerifier: a verifier is the bare code or the whole callback URL;
// a URL's state is checked when the expected one is known, and its error
// parameter is the server's refusal. No error shows the code.
func TestCodeOfVerifier(t *testing.T) {
	const cb = "http://127.0.0.1:5173/oauth/callback"
	good := []struct{ verifier, state, want string }{
		{"dcode-123", "", "dcode-123"},
		{"dcode-123", "s1", "dcode-123"}, // a bare code has no state to check
		{cb + "?code=dcode-123&state=s1", "s1", "dcode-123"},
		{cb + "?code=dcode-123&state=s1", "", "dcode-123"},
		{cb + "?state=s1&code=dcode%2F123", "s1", "dcode/123"},
		{"?code=dcode-123&state=s1", "s1", "dcode-123"},
		{"  " + cb + "?code=dcode-123&state=s1\n", "s1", "dcode-123"}, // pasted with blanks around it
	}
	for _, c := range good {
		got, err := codeOfVerifier(c.verifier, c.state)
		if err != nil || got != c.want {
			t.Errorf("codeOfVerifier(%q, %q) = %q, %v; want %q", c.verifier, c.state, got, err, c.want)
		}
	}
	bad := []struct{ verifier, state, want string }{
		{cb + "?code=dcode-123&state=s2", "s1", "state"},
		{cb + "?code=dcode-123", "s1", "state"},
		{cb + "?error=access_denied&error_description=the+user+denied+the+request&state=s1", "s1", "access_denied: the user denied the request"},
		{cb + "?error=access_denied&state=other", "s1", "access_denied"}, // the refusal says more than the state
		{cb + "?state=s1", "s1", "no code"},
		{cb, "", "no code"},
		{"", "", "empty"},
	}
	for _, c := range bad {
		_, err := codeOfVerifier(c.verifier, c.state)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("codeOfVerifier(%q, %q): %v, want an error saying %q", c.verifier, c.state, err, c.want)
		} else if strings.Contains(err.Error(), "dcode") {
			t.Errorf("codeOfVerifier(%q, %q): %v shows the code", c.verifier, c.state, err)
		}
	}
}

// TestProceduresTakeTheCallbackURL: GetOAuthAccessToken (WEB) takes the
// whole callback URL as its verifier, as the bindings' docs promise.
func TestProceduresTakeTheCallbackURL(t *testing.T) {
	ctx := context.Background()
	o := parse(t, "Host=%s", shared.Info().WorkspaceURL)
	callback := "http://127.0.0.1:5173/oauth/callback"
	a, err := GetOAuthAuthorizationURL(ctx, o, callback, "", "")
	if err != nil {
		t.Fatal(err)
	}
	back := followAuthorize(t, a.URL)
	// Another sign-in's callback is refused before the code is sent: the
	// code still works afterwards.
	_, err = GetOAuthAccessToken(ctx, o, back.String(), AuthModeWeb, callback, "someone-else", a.PKCEVerifier)
	if err == nil || !strings.Contains(err.Error(), "state") {
		t.Errorf("a callback URL with another state: %v, want an error naming the state", err)
	}
	tokens, err := GetOAuthAccessToken(ctx, o, back.String(), AuthModeWeb, callback, a.State, a.PKCEVerifier)
	if err != nil {
		t.Fatalf("the whole callback URL as verifier: %v", err)
	}
	if p := Describe(tokens.OAuthAccessToken).Principal; p != shared.Info().User.Email {
		t.Errorf("token for %q", p)
	}
	// The server's refusal of a spent code still comes back.
	var oauthErr *OAuthError
	_, err = GetOAuthAccessToken(ctx, o, back.Query().Get("code"), AuthModeWeb, callback, "", a.PKCEVerifier)
	if !errors.As(err, &oauthErr) || oauthErr.Code != "invalid_grant" {
		t.Errorf("a spent code: %v, want invalid_grant", err)
	}
	// Without State the URL's code is taken as is.
	a2, _ := GetOAuthAuthorizationURL(ctx, o, callback, "", "")
	if _, err := GetOAuthAccessToken(ctx, o, followAuthorize(t, a2.URL).String(), AuthModeWeb, callback, "", a2.PKCEVerifier); err != nil {
		t.Errorf("the callback URL without State: %v", err)
	}
	// A refused sign-in comes back as the server's error, not invalid_grant.
	denied := callback + "?" + url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"},
		"state": {a.State}}.Encode()
	_, err = GetOAuthAccessToken(ctx, o, denied, AuthModeWeb, callback, a.State, a.PKCEVerifier)
	if err == nil || !strings.Contains(err.Error(), "access_denied") || errors.As(err, &oauthErr) {
		t.Errorf("a callback URL with error=access_denied: %v, want the refusal", err)
	}
}

// TestHeadlessRefusedSignIn: `lakelink oauth exchange --code URL` (and
// OAuthVerifier) with a callback URL that carries error= reports the
// refusal instead of sending the URL as a code.
func TestHeadlessRefusedSignIn(t *testing.T) {
	ctx := context.Background()
	s := fmt.Sprintf("Host=%s;AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;OAuthSettingsLocation=%s", shared.Info().WorkspaceURL, tokenStore(t))
	a, err := StartHeadless(ctx, parse(t, "%s", s))
	if err != nil {
		t.Fatal(err)
	}
	denied := "http://localhost:8020?" + url.Values{"error": {"access_denied"}, "state": {a.State}}.Encode()
	_, _, err = FinishHeadless(ctx, parse(t, "%s", s), denied)
	var oauthErr *OAuthError
	if err == nil || !strings.Contains(err.Error(), "access_denied") || errors.As(err, &oauthErr) {
		t.Errorf("FinishHeadless with a refused sign-in: %v, want the refusal", err)
	}
}

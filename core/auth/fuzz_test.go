package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseTokenResponse: whatever a token endpoint answers, parsing never
// panics, a success has an access token, and an error never quotes the
// body (which may hold tokens).
func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600,"scope":"all-apis","refresh_token":"doau123"}`))
	f.Add(200, "application/json", []byte(`{"access_token":"x","expires_in":"3600"}`))
	f.Add(400, "application/json", []byte(`{"error":"invalid_grant","error_description":"Refresh token is invalid"}`))
	f.Add(401, "application/json", []byte(`{"error":"invalid_client"}`))
	f.Add(429, "text/plain", []byte(`slow down`))
	f.Add(500, "application/json", []byte(`{"error_code":"INTERNAL_ERROR","message":"boom"}`))
	f.Add(200, "application/json", []byte(`{"access_token": "trunc`))
	f.Add(200, "text/html", []byte(`<html>login</html>`))
	f.Add(200, "application/json", []byte(`{"access_token":"x","token_type":"mac"}`))
	f.Add(200, "application/json", []byte(`{"access_token":"x","expires_in":-1}`))
	f.Add(200, "", []byte(`null`))
	f.Add(302, "", []byte(``))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		tok, err := parseTokenResponse(status, h, body, time.Now())
		if err == nil {
			if tok == nil || tok.AccessToken == "" {
				t.Fatal("success without an access token")
			}
			return
		}
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil {
			for _, k := range []string{"access_token", "refresh_token"} {
				if v, ok := fields[k].(string); ok && len(v) >= 8 && strings.Contains(err.Error(), v) {
					t.Fatalf("the error quotes the %s: %v", k, err)
				}
			}
		}
		var oauthErr *OAuthError
		var transient *transientError
		if !errors.As(err, &oauthErr) && !errors.As(err, &transient) && tok != nil {
			t.Fatal("a token returned with an error")
		}
	})
}

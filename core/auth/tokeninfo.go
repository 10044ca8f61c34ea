package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// TokenInfo is what a Databricks OAuth access token (a JWT) says about
// itself. It is read, not verified: for messages and diagnosis only. None
// of it is secret: anyone holding the token can read it.
type TokenInfo struct {
	// Readable is false for a token that is not a JWT (a personal access
	// token, say); the other fields are then empty.
	Readable      bool
	Principal     string    // sub: a user's email or a service principal's application id
	PrincipalType string    // principal_type, when the issuer sets it: "user" or "service_principal"
	Issuer        string    // iss: the issuing workspace's OIDC URL
	ClientID      string    // client_id
	Scopes        []string  // scope (space-separated) or scp (a list)
	HasScopeClaim bool      // whether either scope claim was present
	ExpiresAt     time.Time // exp; zero when absent
}

// Describe reads a token's claims without verifying its signature. It never
// fails: a token it cannot read gives a TokenInfo with Readable false.
func Describe(accessToken string) TokenInfo {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return TokenInfo{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return TokenInfo{}
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return TokenInfo{}
	}
	t := TokenInfo{Readable: true}
	t.Principal, _ = claims["sub"].(string)
	t.PrincipalType, _ = claims["principal_type"].(string)
	t.Issuer, _ = claims["iss"].(string)
	t.ClientID, _ = claims["client_id"].(string)
	switch v := claims["scope"].(type) {
	case string:
		t.Scopes, t.HasScopeClaim = strings.Fields(v), true
	default:
		if list, ok := claims["scp"].([]any); ok {
			t.HasScopeClaim = true
			for _, s := range list {
				if s, ok := s.(string); ok {
					t.Scopes = append(t.Scopes, s)
				}
			}
		}
	}
	if exp, ok := claims["exp"].(float64); ok && exp > 0 {
		t.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	}
	return t
}

// jwtExpiry is the token's exp claim, zero when it has none.
func jwtExpiry(accessToken string) time.Time { return Describe(accessToken).ExpiresAt }

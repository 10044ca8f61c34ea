package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// TokenInfo is what a Databricks OAuth access token (a JWT) says about
// itself. It is read, not verified: for messages and diagnosis only.
type TokenInfo struct {
	Principal string    // sub: a user's email or a service principal's application id
	Scopes    []string  // scope, split
	ExpiresAt time.Time // exp; zero when unknown
	ClientID  string    // client_id
}

// Describe reads a token's claims. An opaque token (a personal access
// token, say) yields a zero TokenInfo.
func Describe(accessToken string) TokenInfo {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return TokenInfo{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return TokenInfo{}
	}
	var c struct {
		Sub      string  `json:"sub"`
		Scope    string  `json:"scope"`
		Exp      float64 `json:"exp"`
		ClientID string  `json:"client_id"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return TokenInfo{}
	}
	info := TokenInfo{Principal: c.Sub, Scopes: strings.Fields(c.Scope), ClientID: c.ClientID}
	if c.Exp > 0 {
		info.ExpiresAt = time.Unix(int64(c.Exp), 0)
	}
	return info
}

// jwtExpiry is the token's exp claim, zero when it has none.
func jwtExpiry(accessToken string) time.Time { return Describe(accessToken).ExpiresAt }

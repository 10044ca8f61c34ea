package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Claims is the payload of every token the emulator signs: workspace OAuth
// access tokens and Lakebase database credentials alike.
type Claims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`           // the principal: a user's email or a service principal's application id
	Audience string `json:"aud,omitempty"` // the OAuth client id, or "lakebase" for database credentials
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Kind     string `json:"principal_type"` // "user" or "service_principal"
	// Target names the Lakebase instance or endpoint a database credential
	// was minted for; empty for workspace access tokens.
	Target   string `json:"lakebase_target,omitempty"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	ID       string `json:"jti"`
}

// ExpiresAt returns the expiry as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0).UTC() }

// HasScope reports whether the space-separated scope claim holds s.
func (c *Claims) HasScope(s string) bool {
	for _, have := range strings.Fields(c.Scope) {
		if have == s {
			return true
		}
	}
	return false
}

// Token verification failures, told apart so that callers can say which.
var (
	errNotAToken    = errors.New("not a Databricks OAuth token or Lakebase credential")
	errBadSignature = errors.New("bad signature")
)

// expiredError says when a token expired.
type expiredError struct{ at time.Time }

func (e *expiredError) Error() string {
	return "token expired at " + e.at.Format(time.RFC3339)
}

// signer signs and verifies RS256 JWTs with one key, published as a JWKS.
type signer struct {
	key *rsa.PrivateKey
	kid string
}

func newSigner() (*signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	return &signer{key: key, kid: randomID(8)}, nil
}

var b64 = base64.RawURLEncoding

func (s *signer) sign(c *Claims) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signingInput := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// verify checks the signature and then the expiry at now. On an expired
// token it returns the claims together with an *expiredError, so that the
// caller can still name the principal.
func (s *signer) verify(token string, now time.Time) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errNotAToken
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	rawHeader, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(rawHeader, &header) != nil {
		return nil, errNotAToken
	}
	if header.Alg != "RS256" || header.Kid != s.kid {
		return nil, errBadSignature
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errBadSignature
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return nil, errBadSignature
	}
	rawPayload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errNotAToken
	}
	var c Claims
	if err := json.Unmarshal(rawPayload, &c); err != nil {
		return nil, errNotAToken
	}
	if !now.Before(c.ExpiresAt()) {
		return &c, &expiredError{at: c.ExpiresAt()}
	}
	return &c, nil
}

// jwks returns the public key as a JSON Web Key Set (RFC 7517).
func (s *signer) jwks() map[string]any {
	pub := s.key.PublicKey
	return map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": s.kid,
		"n":   b64.EncodeToString(pub.N.Bytes()),
		"e":   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// randomID returns n random bytes, base64url-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: since Go 1.24 it crashes instead
	return b64.EncodeToString(b)
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

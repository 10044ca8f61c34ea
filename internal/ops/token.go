package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lakelink/lakelink/core/auth"
)

// Token is an access token for a connection string: lakelink.h's
// lakelink_token, the WASI operation token, `lakelink token --json`.
type Token struct {
	AccessToken string `json:"access_token"` // a secret
	// ExpiresAt is when the token expires; null when unknown.
	ExpiresAt Instant `json:"expires_at"`
	// Principal and Scopes are read from the token (a JWT) for showing:
	// "" and [] when it does not say.
	Principal string   `json:"principal"`
	Scopes    []string `json:"scopes"`
}

// String shows the expiry and the principal, never the token.
func (t Token) String() string {
	return fmt.Sprintf("Token{AccessToken: ***, ExpiresAt: %s, Principal: %s}", t.ExpiresAt, t.Principal)
}

// GoString is String, so that %#v hides the token too.
func (t Token) GoString() string { return t.String() }

// GetToken returns an access token for r.Conn from the token source the
// configuration shares for its identity (renewed ahead of expiry).
func (p Ops) GetToken(ctx context.Context, r Conn) (t *Token, err error) {
	defer classify(&err, Auth)
	src, err := p.tokenSource(r.Conn)
	if err != nil {
		return nil, err
	}
	tok, err := src.TokenContext(ctx)
	if err != nil {
		return nil, err
	}
	info := auth.Describe(tok.AccessToken)
	scopes := info.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return &Token{AccessToken: tok.AccessToken, ExpiresAt: Instant{tok.Expiry}, Principal: info.Principal, Scopes: scopes}, nil
}

// Instant is a time on the wire: RFC 3339 in UTC to the second
// ("2026-12-07T03:00:00Z"), null when unknown (the zero time). C, which has
// no JSON for it, gives the same instant in Unix seconds (0: unknown).
type Instant struct{ time.Time }

// Unix is the instant in Unix seconds, 0 when unknown.
func (t Instant) Unix() int64 {
	if t.IsZero() {
		return 0
	}
	return t.Time.Unix()
}

// String is the instant as JSON shows it, without quotes; "unknown" for
// none.
func (t Instant) String() string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

func (t Instant) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.String())
}

func (t *Instant) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Instant{}
		return nil
	}
	return t.Time.UnmarshalJSON(b)
}

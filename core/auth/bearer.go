package auth

import (
	"fmt"
	"strings"
)

// MaxBearerToken is the longest access token CheckBearerToken accepts:
// 64 KiB. A Databricks OAuth token is a JWT of a few KiB.
const MaxBearerToken = 64 << 10

// CheckBearerToken checks that token has the shape of one OAuth bearer
// token (RFC 6750's token68: letters, digits and -._~+/, then = padding)
// of at most MaxBearerToken bytes: the rule for a token lakelink is handed
// to act with, such as an App user's X-Forwarded-Access-Token. It reads no
// claim and contacts no server. The error says what is wrong without
// repeating any of the value: a *BearerTokenError. Personal access tokens
// (dapi...) and OAuth access tokens (JWTs) pass.
func CheckBearerToken(token string) error {
	switch {
	case token == "":
		return malformed("the access token is empty")
	case len(token) > MaxBearerToken:
		return malformed(fmt.Sprintf("the access token is %d bytes long, more than the %d KiB a token may be", len(token), MaxBearerToken>>10))
	}
	body := strings.TrimRight(token, "=")
	if body == "" {
		return malformed("the access token is only padding (=)")
	}
	for i := 0; i < len(body); i++ {
		if token68[body[i]] {
			continue
		}
		switch c := body[i]; {
		case c == ',':
			return malformed("the value is a comma-separated list, not one access token")
		case c == ' ' && strings.EqualFold(token[:i], "bearer"):
			return malformed(`the value starts with "Bearer ": give the access token alone`)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return malformed("the value has spaces: it holds more than one access token, or something else")
		}
		return malformed(fmt.Sprintf("the access token has a character an access token cannot have (at byte %d)", i))
	}
	return nil
}

// BearerTokenError is CheckBearerToken's error: a value without the shape
// of one bearer token, a bad argument. Its text never holds the value.
type BearerTokenError struct{ Message string }

func (e *BearerTokenError) Error() string { return e.Message }

func malformed(message string) error { return &BearerTokenError{Message: message} }

// token68 tells the bytes of RFC 7235's token68 before its padding.
var token68 = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/") {
		t[c] = true
	}
	return t
}()

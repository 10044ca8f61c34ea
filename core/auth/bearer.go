package auth

import (
	"errors"
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
// repeating any of the value.
func CheckBearerToken(token string) error {
	switch {
	case token == "":
		return errors.New("the access token is empty")
	case len(token) > MaxBearerToken:
		return fmt.Errorf("the access token is %d bytes long, more than the %d KiB a token may be", len(token), MaxBearerToken>>10)
	case strings.Contains(token, ","):
		return errors.New("the value is a comma-separated list, not one access token")
	case strings.HasPrefix(strings.ToLower(token), "bearer "):
		return errors.New(`the value starts with "Bearer ": give the access token alone`)
	case strings.ContainsAny(token, " \t\r\n"):
		return errors.New("the value has spaces: it holds more than one access token, or something else")
	}
	padding := len(token) - len(strings.TrimRight(token, "="))
	for i, c := range token[:len(token)-padding] {
		if !token68(c) {
			return fmt.Errorf("the access token has a character a bearer token cannot have (at byte %d)", i)
		}
	}
	if padding == len(token) {
		return errors.New("the access token is only padding (=)")
	}
	return nil
}

// token68 reports whether c may appear in RFC 7235's token68 before its
// padding.
func token68(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~+/", c)
}

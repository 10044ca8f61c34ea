package apps

import (
	"regexp"
	"strings"

	"github.com/lakelink/lakelink/core/auth"
)

// Refresher is implemented by lakelink's token sources (package auth). It
// tells whether the source could renew an expired access token: true when
// it holds what renewal needs (a refresh token, or a client secret for the
// client-credentials grant), false when the token it has is the last one it
// can give.
//
// An [App] asks its token source, the one given to [New], only when a call
// fails with 401 Unauthorized and the token in use had expired, to say
// whether logging in again is the fix. A wrapper around a source, such as
// [golang.org/x/oauth2.ReuseTokenSource], hides the interface unless the
// wrapper implements it too.
type Refresher interface {
	// CanRefresh reports whether the source could obtain a new access
	// token once the current one expires.
	CanRefresh() bool
}

// tokenInfo is the token in use, as auth.Describe reads it, with the
// phrases the diagnosis builds from it.
type tokenInfo struct{ auth.TokenInfo }

// readToken reads the token in use (see auth.Describe).
func readToken(token string) tokenInfo { return tokenInfo{auth.Describe(token)} }

// applicationID is the shape of a service principal's application id.
var applicationID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// principal names the token's principal for a sentence: "user
// jane@example.com", "service principal 6f1c…", or a neutral phrase when
// the token cannot be read.
func (t tokenInfo) principal() string {
	sub := t.Principal
	switch {
	case sub == "":
		return "the token's principal"
	case t.PrincipalType == "service_principal" || (t.PrincipalType == "" && applicationID.MatchString(sub)):
		return "service principal " + sub
	case t.PrincipalType == "user" || strings.Contains(sub, "@"):
		return "user " + sub
	default:
		return "principal " + sub
	}
}

// isUser reports whether the token is a user's (as opposed to a service
// principal's), as far as lakelink can tell.
func (t tokenInfo) isUser() bool {
	return t.PrincipalType == "user" || (t.PrincipalType == "" && strings.Contains(t.Principal, "@"))
}

// scopeList is the token's scopes for a sentence.
func (t tokenInfo) scopeList() string {
	switch {
	case !t.Readable:
		return "unknown (lakelink cannot read this token: it is not a JWT)"
	case !t.HasScopeClaim:
		return "none named (the token has no scope claim)"
	case len(t.Scopes) == 0:
		return "none"
	}
	return strings.Join(t.Scopes, " ")
}

// hasScope reports whether the token carries scope s.
func (t tokenInfo) hasScope(s string) bool {
	for _, have := range t.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

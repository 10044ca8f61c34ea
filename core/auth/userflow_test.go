package auth

import (
	"strings"
	"testing"
)

// TestUserLoginsAskForARefreshToken: a user login's scopes always include
// offline_access, added to those given or to the defaults.
func TestUserLoginsAskForARefreshToken(t *testing.T) {
	for scope, want := range map[string]string{"": "all-apis offline_access", "sql": "sql offline_access",
		"sql offline_access": "sql offline_access"} {
		f, err := defaultConfig.use().newUserFlow(parse(t, "Host=h;Scope='%s'", scope))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(f.scopes, " "); got != want {
			t.Errorf("Scope=%q: %q, want %q", scope, got, want)
		}
	}
}

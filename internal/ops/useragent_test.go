package ops

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/lakebase"
)

// TestUserAgents: every HTTP request the operations make (OAuth
// discovery, the token endpoint, SCIM, the credential API, App calls,
// Databricks unified auth) names lakelink, its version, Go, the OS, the
// binding the configuration names, and the auth type, in the Databricks
// SDKs' format, as the emulator saw them.
func TestUserAgents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	info := e.Info()
	lakebaseConn := fmt.Sprintf("Server=%s;Port=%d;Instance=%s;SSLServerCert=%s",
		info.Lakebase.Host, info.Lakebase.Port, info.Lakebase.Instance, info.Lakebase.CAFile)
	m2m := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s;%s",
		info.WorkspaceURL, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret, lakebaseConn)
	unified := m2m + ";AuthScheme=Databricks"
	p := Ops{Config: &lakebase.Config{Auth: &auth.Config{UserAgent: "binding/test test/1.2.3"}}}
	if err := second(p.GetToken(ctx, Conn{m2m})); err != nil {
		t.Fatal(err)
	}
	if err := second(p.CallApp(ctx, AppRequest{Conn: m2m, AppURL: info.AppURL, URL: "/api/whoami"})); err != nil {
		t.Fatal(err)
	}
	if err := second(p.GetCredential(ctx, Conn{m2m})); err != nil {
		t.Fatal(err)
	}
	if err := second(p.GetCredential(ctx, Conn{unified})); err != nil {
		t.Fatal(err)
	}

	want := fmt.Sprintf("lakelink/%s go/%s os/%s binding/test test/1.2.3", lakelink.Version(),
		strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS)
	seen := e.Stats().UserAgents
	for _, ep := range []string{"oauth-metadata", "token", "app", "scim-me", "database-credentials"} {
		if len(seen[ep]) == 0 {
			t.Errorf("%s: no request", ep)
		}
	}
	for ep, agents := range seen {
		for agent := range agents {
			if !strings.HasPrefix(agent, want) {
				t.Errorf("%s: User-Agent %q, want %q first", ep, agent, want)
			}
		}
	}
	// The token endpoint, the App and the credential API name how the token was had.
	for _, ep := range []string{"token", "app", "scim-me", "database-credentials"} {
		if seen[ep][want+" auth/oauth-m2m"] == 0 {
			t.Errorf("%s: no request with auth/oauth-m2m: %v", ep, seen[ep])
		}
	}
	// AuthorizeApp gives another HTTP client the User-Agent CallApp sends.
	a, err := p.AuthorizeApp(ctx, Authorize{Conn: m2m, AppURL: info.AppURL, URL: "/api/whoami"})
	if err != nil {
		t.Fatal(err)
	}
	if a.UserAgent != want+" auth/oauth-m2m" {
		t.Errorf("AuthorizeApp: User-Agent %q, want %q", a.UserAgent, want+" auth/oauth-m2m")
	}
	// Databricks unified auth names the SDK's auth type once it has it.
	for _, ep := range []string{"scim-me", "database-credentials"} {
		if n := seen[ep][want+" auth/oauth-m2m"]; n != 2 {
			t.Errorf("%s: %d requests with auth/oauth-m2m, want 2 (the SDK's too): %v", ep, n, seen[ep])
		}
	}
}

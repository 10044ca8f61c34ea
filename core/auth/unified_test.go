package auth

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestUnifiedAuthWorkspaceKeepsTheProfile: the workspace that unified auth
// finds in a profile comes with that profile's name, so that unified auth
// on the workspace's options (whose Host is then given) still reads the
// profile's credentials; a workspace from DATABRICKS_HOST names none.
func TestUnifiedAuthWorkspaceKeepsTheProfile(t *testing.T) {
	sp, ws := shared.Info().ServicePrincipal, shared.Info().WorkspaceURL
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // the home directory on Windows
	for _, v := range []string{"DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE", "DATABRICKS_TOKEN",
		"DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_AUTH_TYPE"} {
		t.Setenv(v, "")
	}
	cfg := fmt.Sprintf("[DEFAULT]\nhost = %s\nclient_id = %s\nclient_secret = %s\n", ws, sp.ClientID, sp.ClientSecret)
	if err := os.WriteFile(filepath.Join(home, ".databrickscfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Config{}
	defer c.Close()
	w, err := c.UnifiedAuthWorkspace(parse(t, "AuthScheme=Databricks"))
	if err != nil || w.Host != ws || w.Profile != "DEFAULT" {
		t.Fatalf("the DEFAULT profile's workspace: %+v, %v", w, err)
	}
	src, err := c.NewTokenSource(w)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if p := Describe(tok.AccessToken).Principal; p != sp.ClientID {
		t.Errorf("token for %q, want the profile's service principal", p)
	}
	t.Setenv("DATABRICKS_HOST", ws)
	t.Setenv("DATABRICKS_TOKEN", "dapi-unified-workspace")
	if w, err := c.UnifiedAuthWorkspace(parse(t, "AuthScheme=Databricks")); err != nil || w.Host != ws || w.Profile != "" {
		t.Errorf("the environment's workspace: %+v, %v", w, err)
	}
}

package lakebase

import (
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// TestLakebaseHostAsHost: a Lakebase host given as Host (alias
// DatabricksInstance) is the Server, and the workspace comes from the
// Databricks configuration, never from that host.
func TestLakebaseHostAsHost(t *testing.T) {
	const instance = "instance-0123.database.cloud.databricks.com"
	t.Setenv("HOME", t.TempDir()) // no ~/.databrickscfg
	t.Setenv("DATABRICKS_CONFIG_FILE", "")
	t.Setenv("DATABRICKS_CONFIG_PROFILE", "")
	t.Setenv("DATABRICKS_HOST", "")
	for _, host := range []string{instance, "https://" + instance + "/"} {
		o, err := connstr.Parse("DatabricksInstance=" + host + ";OAuthClientId=id;OAuthClientSecret=secret")
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := poolConfig(o); err != nil || cfg.ConnConfig.Host != instance {
			t.Errorf("%s: not the server: %v", host, err)
		}
		if _, err := new(Config).workspace(o); err == nil || !strings.Contains(err.Error(), "is a Lakebase host") ||
			!strings.Contains(err.Error(), "DATABRICKS_HOST") {
			t.Errorf("%s without a workspace: %v", host, err)
		}
	}
	o, _ := connstr.Parse("Host=" + instance + ";Server=other.example.com;OAuthClientId=id;OAuthClientSecret=secret")
	if cfg, err := poolConfig(o); err != nil || cfg.ConnConfig.Host != "other.example.com" {
		t.Errorf("Server given: %v", err)
	}
	ws := testEmulator.Info().WorkspaceURL
	t.Setenv("DATABRICKS_HOST", ws)
	w, err := new(Config).workspace(o)
	if err != nil || auth.WorkspaceURL(w) != ws || w.OAuthClientID != "id" {
		t.Errorf("workspace %+v, %v", w, err)
	}
	if o.Host != instance {
		t.Errorf("the caller's options changed: Host %q", o.Host)
	}
	given, _ := connstr.Parse("Host=https://adb-1.azuredatabricks.net;Server=" + instance)
	if w, err := new(Config).workspace(given); err != nil || w != given {
		t.Errorf("a workspace Host: %+v, %v", w, err)
	}
}

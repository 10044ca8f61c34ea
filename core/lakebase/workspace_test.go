package lakebase

import (
	"fmt"
	"os"
	"path/filepath"
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

// TestWorkspaceFromProfile: with neither Host nor DATABRICKS_* but a
// profile of the Databricks configuration file (~/.databrickscfg, or
// DATABRICKS_CONFIG_FILE) holding the workspace and its credentials,
// AuthScheme=Databricks connects to the instance with that profile's
// credentials: the DEFAULT profile, [__settings__]'s default_profile, or
// the connection string's Profile. The workspace the profile names must
// not hide the profile from the credentials.
func TestWorkspaceFromProfile(t *testing.T) {
	e := testEmulator
	info := e.Info()
	lb := info.Lakebase
	sp := info.ServicePrincipal
	m2m := fmt.Sprintf("host = %s\nclient_id = %s\nclient_secret = %s\n", info.WorkspaceURL, sp.ClientID, sp.ClientSecret)
	o, _ := connstr.Parse(fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s", info.WorkspaceURL, sp.ClientID, sp.ClientSecret))
	src, err := auth.NewTokenSource(o)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	pat := fmt.Sprintf("host = %s\ntoken = %s\n", info.WorkspaceURL, tok.AccessToken)
	conn := fmt.Sprintf("AuthScheme=Databricks;Instance=%s;Server=%s;Port=%d;SSLServerCert=%s;SSLMode=verify-full",
		lb.Instance, lb.Host, lb.Port, lb.CAFile)
	for _, c := range []struct{ name, file, extra string }{
		{"DEFAULT, client credentials", "[DEFAULT]\n" + m2m, ""},
		{"DEFAULT, token", "[DEFAULT]\n" + pat, ""},
		{"default_profile", "[__settings__]\ndefault_profile = ci\n\n[ci]\n" + m2m, ""},
		{"Profile", "[DEFAULT]\nhost = https://elsewhere.example.com\n\n[ci]\n" + m2m, ";Profile=ci"},
		{"Lakebase host as Host", "[DEFAULT]\n" + m2m, ";Host=" + lb.ServerName},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			for _, v := range []string{"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
				"DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE", "DATABRICKS_AUTH_TYPE"} {
				t.Setenv(v, "")
			}
			file := filepath.Join(home, ".databrickscfg")
			if strings.HasPrefix(c.name, "DEFAULT, token") {
				file = filepath.Join(t.TempDir(), "databricks.cfg")
				t.Setenv("DATABRICKS_CONFIG_FILE", file)
			}
			if err := os.WriteFile(file, []byte(c.file), 0o600); err != nil {
				t.Fatal(err)
			}
			a := &auth.Config{} // a token source of its own, resolved from this profile
			t.Cleanup(a.Close)
			p := connectWith(t, &Config{Auth: a}, conn+c.extra)
			if got := scalar(t, p, "SELECT current_user"); got != sp.ClientID {
				t.Errorf("current_user %q, want the profile's service principal %q", got, sp.ClientID)
			}
		})
	}
}

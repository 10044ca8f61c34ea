package emulator

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/credentials/u2m"
	"github.com/databricks/databricks-sdk-go/service/apps"
	"github.com/databricks/databricks-sdk-go/service/database"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/postgres"
)

// These tests use databricks-sdk-go as the client: the emulator is faithful
// to the extent the SDK's own auth and service clients work against it.

// isolateSDK keeps the developer's ~/.databrickscfg and DATABRICKS_* out of
// the SDK's unified auth.
func isolateSDK(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "DATABRICKS_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func sdkClient(t *testing.T, client ClientInfo) *databricks.WorkspaceClient {
	t.Helper()
	isolateSDK(t)
	w, err := databricks.NewWorkspaceClient(&databricks.Config{
		Host: shared.Info().WorkspaceURL, ClientID: client.ClientID, ClientSecret: client.ClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSDKServicePrincipalM2M(t *testing.T) {
	ctx := context.Background()
	info := shared.Info()
	w := sdkClient(t, info.ServicePrincipal)

	me, err := w.CurrentUser.Me(ctx, iam.MeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if me.UserName != info.ServicePrincipal.ClientID {
		t.Errorf("Me().UserName = %q, want the application id %q", me.UserName, info.ServicePrincipal.ClientID)
	}
	if w.Config.AuthType != "oauth-m2m" {
		t.Errorf("the SDK chose auth type %q, want oauth-m2m", w.Config.AuthType)
	}

	cred, err := w.Database.GenerateDatabaseCredential(ctx, database.GenerateDatabaseCredentialRequest{
		InstanceNames: []string{info.Lakebase.Instance},
	})
	if err != nil {
		t.Fatal(err)
	}
	expiry, err := time.Parse(time.RFC3339, cred.ExpirationTime)
	if err != nil || time.Until(expiry) < 50*time.Minute {
		t.Errorf("expiration_time %q: want RFC 3339 about an hour ahead (%v)", cred.ExpirationTime, err)
	}
	pgLogin(t, shared, info.ServicePrincipal.ClientID, cred.Token, "sslmode=require")

	pcred, err := w.Postgres.GenerateDatabaseCredential(ctx, postgres.GenerateDatabaseCredentialRequest{Endpoint: info.Lakebase.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if pcred.ExpireTime == nil || time.Until(pcred.ExpireTime.AsTime()) < 50*time.Minute {
		t.Errorf("expire_time %v: want about an hour ahead", pcred.ExpireTime)
	}
	pgLogin(t, shared, info.ServicePrincipal.ClientID, pcred.Token, "sslmode=verify-full sslrootcert="+info.Lakebase.CAFile)

	instance, err := w.Database.GetDatabaseInstance(ctx, database.GetDatabaseInstanceRequest{Name: info.Lakebase.Instance})
	if err != nil {
		t.Fatal(err)
	}
	if instance.State != database.DatabaseInstanceStateAvailable || instance.ReadWriteDns != info.Lakebase.Host {
		t.Errorf("instance = %+v", instance)
	}
	endpoint, err := w.Postgres.GetEndpoint(ctx, postgres.GetEndpointRequest{Name: info.Lakebase.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if endpoint.Status == nil || endpoint.Status.Hosts == nil || endpoint.Status.Hosts.Host != info.Lakebase.Host {
		t.Errorf("endpoint = %+v", endpoint)
	}
	app, err := w.Apps.Get(ctx, apps.GetAppRequest{Name: info.AppName})
	if err != nil {
		t.Fatal(err)
	}
	if app.Url != info.AppURL || app.ServicePrincipalClientId != info.ServicePrincipal.ClientID {
		t.Errorf("app = %+v", app)
	}
}

// TestSDKErrorMapping checks that the emulator's error bodies map onto the
// SDK's error kinds.
func TestSDKErrorMapping(t *testing.T) {
	ctx := context.Background()
	info := shared.Info()
	w := sdkClient(t, info.ServicePrincipal)
	_, err := w.Database.GenerateDatabaseCredential(ctx, database.GenerateDatabaseCredentialRequest{InstanceNames: []string{"nope"}})
	if !errors.Is(err, apierr.ErrResourceDoesNotExist) {
		t.Errorf("unknown instance: %v, want ErrResourceDoesNotExist", err)
	}
	_, err = w.Database.GenerateDatabaseCredential(ctx, database.GenerateDatabaseCredentialRequest{})
	if !errors.Is(err, apierr.ErrInvalidParameterValue) {
		t.Errorf("no instance: %v, want ErrInvalidParameterValue", err)
	}
	_, err = w.Apps.Get(ctx, apps.GetAppRequest{Name: "nope"})
	if !errors.Is(err, apierr.ErrNotFound) {
		t.Errorf("unknown app: %v, want ErrNotFound", err)
	}
	outsider := sdkClient(t, info.Outsider)
	_, err = outsider.Database.GenerateDatabaseCredential(ctx, database.GenerateDatabaseCredentialRequest{InstanceNames: []string{info.Lakebase.Instance}})
	if !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Errorf("outsider: %v, want ErrPermissionDenied", err)
	}
	wrongSecret, err := databricks.NewWorkspaceClient(&databricks.Config{Host: info.WorkspaceURL, AuthType: "oauth-m2m",
		ClientID: info.ServicePrincipal.ClientID, ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrongSecret.CurrentUser.Me(ctx, iam.MeRequest{}); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v, want an invalid_client error", err)
	}
}

// TestSDKUserU2M logs a user in with the SDK's own U2M flow (the one
// `databricks auth login` uses): its loopback callback server on
// localhost:8020-8040, PKCE, then a refresh.
func TestSDKUserU2M(t *testing.T) {
	isolateSDK(t)
	ctx := context.Background()
	arg, err := u2m.NewBasicWorkspaceOAuthArgument(shared.Info().WorkspaceURL)
	if err != nil {
		t.Fatal(err)
	}
	browse := func(authURL string) error {
		// A browser would follow the redirect to the callback server; the
		// callback answers only once the flow has read the code, so this
		// cannot block the caller.
		go func() {
			resp, err := http.Get(authURL)
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	scopes := []string{"all-apis", "sql", "dashboards.genie"}
	pa, err := u2m.NewPersistentAuth(ctx, u2m.WithOAuthArgument(arg), u2m.WithBrowser(browse), u2m.WithScopes(scopes))
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Close()
	if err := pa.Challenge(); err != nil {
		t.Fatal(err)
	}
	tok, err := pa.Token()
	if err != nil {
		t.Fatal(err)
	}
	claims, err := shared.signer.verify(tok.AccessToken, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != shared.Info().User.Email || claims.ClientID != "databricks-cli" ||
		claims.Scope != "offline_access all-apis sql dashboards.genie" {
		t.Errorf("claims = %+v", claims)
	}
	// The stored refresh token rotates.
	before := shared.stats.snapshot().RefreshTokensRedeemed
	refreshed, err := pa.ForceRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == tok.AccessToken {
		t.Error("ForceRefreshToken returned the same access token")
	}
	if got := shared.stats.snapshot().RefreshTokensRedeemed - before; got != 1 {
		t.Errorf("refresh tokens redeemed: %d, want 1", got)
	}
	r := do(t, "GET", shared.Info().AppURL+"/api/genie", refreshed.AccessToken, nil)
	wantStatus(t, r, 200, "Genie says hello to "+shared.Info().User.Email)
}

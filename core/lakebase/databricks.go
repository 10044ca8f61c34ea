//go:build !wasip1

package lakebase

import (
	"context"
	"net/http"
	"time"

	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	sdkauth "github.com/databricks/databricks-sdk-go/config/experimental/auth"
	"github.com/databricks/databricks-sdk-go/service/database"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/postgres"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/internal/useragent"
	"github.com/lakelink/lakelink/core/redact"
)

// workspaceAPIs are the workspace APIs lakelink calls, through
// databricks-sdk-go. This file is the package's only caller of the SDK:
// each method returns the SDK's errors through auth.SDKError, so that no
// request log, body or header the SDK puts in them reaches a user.
type workspaceAPIs struct {
	database    *database.DatabaseAPI
	postgres    *postgres.PostgresAPI
	currentUser *iam.CurrentUserAPI
	authType    func() string // the User-Agent's auth/TYPE of the calls
}

// newWorkspaceAPIs returns the APIs of the workspace at host, called with
// the tokens of tokens through transport (nil: the SDK's own).
func newWorkspaceAPIs(host string, tokens *auth.Source, transport http.RoundTripper) (workspaceAPIs, error) {
	return workspaceAPIsWith(host, auth.SDKCredentials(tokens), transport, tokens.AuthType)
}

// tokenWorkspaceAPIs returns the APIs of the workspace at host, called
// with token, a token lakelink was handed (an App user's), as it is.
func tokenWorkspaceAPIs(host, token string, transport http.RoundTripper) (workspaceAPIs, error) {
	return workspaceAPIsWith(host, config.NewTokenSourceStrategy("lakelink-given-token",
		sdkauth.TokenSourceFn(func(context.Context) (*oauth2.Token, error) {
			return &oauth2.Token{AccessToken: token, TokenType: "Bearer"}, nil
		})), transport, func() string { return "app-user" })
}

// workspaceAPIsWith returns the APIs of the workspace at host, called with
// credentials through transport (nil: the SDK's own), naming authType()
// in their User-Agent.
func workspaceAPIsWith(host string, credentials config.CredentialsStrategy, transport http.RoundTripper, authType func() string) (workspaceAPIs, error) {
	// The three APIs lakelink calls, on one client, rather than
	// databricks.NewWorkspaceClient: that links every service of the SDK,
	// which made lakelink.wasm 17 MB larger (wasm/README.md).
	c, err := client.New(&config.Config{
		Host:          host,
		HTTPTransport: transport,
		Credentials:   credentials,
	})
	if err != nil {
		return workspaceAPIs{}, auth.SDKError("workspace "+redact.URL(host), err)
	}
	return workspaceAPIs{database.NewDatabase(c), postgres.NewPostgres(c), iam.NewCurrentUser(c), authType}, nil
}

// context is ctx naming the calls' auth type in their User-Agent.
func (a workspaceAPIs) context(ctx context.Context) context.Context {
	return useragent.WithAuthType(ctx, a.authType)
}

// instanceCredential mints a credential for a Lakebase Provisioned instance.
func (a workspaceAPIs) instanceCredential(ctx context.Context, instance string) (string, time.Time, error) {
	cred, err := a.database.GenerateDatabaseCredential(a.context(ctx), database.GenerateDatabaseCredentialRequest{InstanceNames: []string{instance}})
	if err != nil {
		return "", time.Time{}, auth.SDKError("the database credentials API", err)
	}
	return instanceCredential(cred.Token, cred.ExpirationTime)
}

// endpointCredential mints a credential for a Lakebase Autoscaling endpoint.
func (a workspaceAPIs) endpointCredential(ctx context.Context, endpoint string) (string, time.Time, error) {
	cred, err := a.postgres.GenerateDatabaseCredential(a.context(ctx), postgres.GenerateDatabaseCredentialRequest{Endpoint: endpoint})
	if err != nil {
		return "", time.Time{}, auth.SDKError("the postgres credentials API", err)
	}
	var expiry time.Time
	if cred.ExpireTime != nil {
		expiry = cred.ExpireTime.AsTime()
	}
	return cred.Token, expiry, nil
}

// userName is the SCIM userName of the caller: a user's email, a service
// principal's application id.
func (a workspaceAPIs) userName(ctx context.Context) (string, error) {
	me, err := a.currentUser.Me(a.context(ctx), iam.MeRequest{})
	if err != nil {
		return "", auth.SDKError("SCIM Me", err)
	}
	return me.UserName, nil
}

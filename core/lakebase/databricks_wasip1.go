//go:build wasip1

package lakebase

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/httpclient"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/redact"
)

// workspaceAPIs are the workspace APIs lakelink calls, in lakelink.wasm:
// the requests databricks-sdk-go's service packages (database, postgres,
// iam) make, through the SDK's httpclient with the SDK's retries and error
// mapping, but with request and response types of their own: the service
// packages import the SDK's config package, which links Azure, GCP, gRPC
// and OpenTelemetry clients (wasm/README.md). Each method returns its
// errors through auth.SDKError, as databricks.go's do.
type workspaceAPIs struct {
	client      *httpclient.ApiClient
	workspaceID string // sent as X-Databricks-Workspace-Id when known, as the SDK does
}

// newWorkspaceAPIs returns the APIs of the workspace at host, called with
// the tokens of tokens through transport.
func newWorkspaceAPIs(host string, tokens *auth.Source, transport http.RoundTripper) (workspaceAPIs, error) {
	return workspaceAPIsWith(host, auth.SDKAuthVisitor(tokens), transport)
}

// tokenWorkspaceAPIs returns the APIs of the workspace at host, called
// with token, a token lakelink was handed (an App user's), as it is.
func tokenWorkspaceAPIs(host, token string, transport http.RoundTripper) (workspaceAPIs, error) {
	return workspaceAPIsWith(host, func(r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}, transport)
}

// workspaceAPIsWith returns the APIs of the workspace at host, called with
// authorize's credentials through transport: the client the SDK's
// config.HTTPClientConfigFromConfig makes for a workspace.
func workspaceAPIsWith(host string, authorize httpclient.RequestVisitor, transport http.RoundTripper) (workspaceAPIs, error) {
	u, err := url.Parse(host)
	if err == nil && u.Host == "" {
		u, err = url.Parse("https://" + host)
	}
	if err != nil || u.Hostname() == "" {
		return workspaceAPIs{}, auth.SDKError("workspace "+redact.URL(host), errors.New("no host configured"))
	}
	host = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	a := workspaceAPIs{client: httpclient.NewApiClient(httpclient.ClientConfig{
		Host:        host,
		Transport:   transport,
		AuthVisitor: authorize,
		Visitors: []httpclient.RequestVisitor{func(r *http.Request) error {
			r.URL.Host, r.URL.Scheme = u.Host, u.Scheme
			return nil
		}},
		TransientErrors: []string{"REQUEST_LIMIT_EXCEEDED"},
		ErrorMapper:     apierr.GetAPIError,
		ErrorRetriable: func(ctx context.Context, err error) bool {
			var apiErr *apierr.APIError
			return errors.As(err, &apiErr) && apiErr.IsRetriable(ctx)
		},
	})}
	// The SDK takes the workspace id from DATABRICKS_WORKSPACE_ID, else
	// from the host's metadata, while it resolves the client's configuration.
	if a.workspaceID = os.Getenv("DATABRICKS_WORKSPACE_ID"); a.workspaceID == "" {
		ctx, cancel := context.WithTimeout(context.Background(), auth.DefaultTimeout)
		defer cancel()
		if meta := auth.FetchHostMetadata(ctx, &http.Client{Transport: transport}, host); meta != nil {
			a.workspaceID = meta.WorkspaceID
		}
	}
	return a, nil
}

// do sends one request as the SDK's service packages do and decodes the
// answer into response.
func (a workspaceAPIs) do(ctx context.Context, method, path string, request, response any) error {
	headers := map[string]string{"Accept": "application/json"}
	if request != nil {
		headers["Content-Type"] = "application/json"
	}
	if a.workspaceID != "" {
		headers["X-Databricks-Workspace-Id"] = a.workspaceID
	}
	return a.client.Do(ctx, method, path, httpclient.WithRequestHeaders(headers),
		httpclient.WithRequestData(request), httpclient.WithResponseUnmarshal(response))
}

// instanceCredential mints a credential for a Lakebase Provisioned instance.
func (a workspaceAPIs) instanceCredential(ctx context.Context, instance string) (string, time.Time, error) {
	var cred struct {
		ExpirationTime string `json:"expiration_time,omitempty"`
		Token          string `json:"token,omitempty"`
	}
	request := struct {
		InstanceNames []string `json:"instance_names,omitempty"`
		RequestID     string   `json:"request_id,omitempty"`
	}{[]string{instance}, requestID()}
	if err := a.do(ctx, http.MethodPost, "/api/2.0/database/credentials", request, &cred); err != nil {
		return "", time.Time{}, auth.SDKError("the database credentials API", err)
	}
	return instanceCredential(cred.Token, cred.ExpirationTime)
}

// endpointCredential mints a credential for a Lakebase Autoscaling endpoint.
func (a workspaceAPIs) endpointCredential(ctx context.Context, endpoint string) (string, time.Time, error) {
	var cred struct {
		ExpireTime *time.Time `json:"expire_time,omitempty"`
		Token      string     `json:"token,omitempty"`
	}
	request := struct {
		Endpoint string `json:"endpoint"`
	}{endpoint}
	if err := a.do(ctx, http.MethodPost, "/api/2.0/postgres/credentials", request, &cred); err != nil {
		return "", time.Time{}, auth.SDKError("the postgres credentials API", err)
	}
	var expiry time.Time
	if cred.ExpireTime != nil {
		expiry = *cred.ExpireTime
	}
	return cred.Token, expiry, nil
}

// userName is the SCIM userName of the caller: a user's email, a service
// principal's application id.
func (a workspaceAPIs) userName(ctx context.Context) (string, error) {
	var me struct {
		UserName string `json:"userName,omitempty"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/2.0/preview/scim/v2/Me", nil, &me); err != nil {
		return "", auth.SDKError("SCIM Me", err)
	}
	return me.UserName, nil
}

// requestID is a random (version 4) UUID, as the SDK gives each database
// credential request.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

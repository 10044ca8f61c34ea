package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	sdktime "github.com/databricks/databricks-sdk-go/common/types/time"
	"github.com/databricks/databricks-sdk-go/service/apps"
	"github.com/databricks/databricks-sdk-go/service/database"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/postgres"
)

// workspaceHandler routes the workspace: OAuth, REST API and admin hooks.
func (e *Emulator) workspaceHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/databricks-config", e.route(epDatabricksConfig, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.databricksConfig())
	}))
	mux.Handle("GET /oidc/.well-known/oauth-authorization-server", e.route(epOAuthMetadata, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.oauthMetadata())
	}))
	mux.Handle("GET /oidc/jwks.json", e.route(epJWKS, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.signer.jwks())
	}))
	mux.Handle("GET /oidc/v1/authorize", e.route(epAuthorize, e.handleAuthorize))
	mux.Handle("POST /oidc/v1/authorize/consent", e.route(epAuthorize, e.handleConsent))
	mux.Handle("/oidc/v1/token", e.route(epToken, e.handleToken))

	mux.Handle("GET /api/2.0/preview/scim/v2/Me", e.route(epSCIMMe, e.rest("iam.current-user:read", e.handleMe)))
	mux.Handle("POST /api/2.0/database/credentials", e.route(epDatabaseCredentials, e.rest("", e.handleDatabaseCredential)))
	mux.Handle("POST /api/2.0/postgres/credentials", e.route(epPostgresCredentials, e.rest("", e.handlePostgresCredential)))
	mux.Handle("GET /api/2.0/database/instances/{name}", e.route(epDatabaseInstances, e.rest("", e.handleGetInstance)))
	mux.Handle("GET /api/2.0/postgres/projects/{project}/branches/{branch}/endpoints/{endpoint}",
		e.route(epPostgresEndpoints, e.rest("", e.handleGetEndpoint)))
	mux.Handle("GET /api/2.0/apps/{name}", e.route(epApps, e.rest("", e.handleGetApp)))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", fmt.Sprintf("No API found for '%s %s'", r.Method, r.URL.Path))
	})
	mux.Handle("/_emulator/", e.adminHandler())
	return e.logRequests("workspace", mux)
}

// caller is who sent an authenticated request.
type caller struct {
	claims    *Claims
	principal *principal
	token     string // the access token that authenticated the request
}

// rest authenticates a REST call by its bearer token: valid, unexpired, a
// workspace access token (not a Lakebase credential), carrying all-apis or
// the route's own scope.
func (e *Emulator) rest(scope string, h func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, status, message := e.authenticateBearer(r)
		if status != 0 {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeAPIError(w, status, "UNAUTHENTICATED", message)
			return
		}
		if !c.claims.HasScope("all-apis") && (scope == "" || !c.claims.HasScope(scope)) {
			required := "all-apis"
			if scope != "" {
				required += " or " + scope
			}
			writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
				fmt.Sprintf("Provided OAuth token does not have required scopes: %s (it has: %s)", required, c.claims.Scope))
			return
		}
		h(w, r, c)
	}
}

// authenticateBearer verifies the request's bearer token. On failure it
// returns 401 and a message saying what is wrong with the token.
func (e *Emulator) authenticateBearer(r *http.Request) (caller, int, string) {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	if auth == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, http.StatusUnauthorized, "Credential was not sent or was of an unsupported type for this API: send Authorization: Bearer <token>"
	}
	token = strings.TrimSpace(token)
	claims, err := e.signer.verify(token, time.Now())
	var expired *expiredError
	switch {
	case errors.As(err, &expired):
		return caller{}, http.StatusUnauthorized, "Invalid access token: " + expired.Error()
	case err != nil:
		return caller{}, http.StatusUnauthorized, "Invalid access token: " + err.Error()
	case claims.Target != "":
		return caller{}, http.StatusUnauthorized, "Invalid access token: a Lakebase database credential is not a workspace access token"
	}
	p := e.dir.principalByName(claims.Subject)
	if p == nil {
		return caller{}, http.StatusUnauthorized, "Invalid access token: unknown principal"
	}
	return caller{claims: claims, principal: p, token: token}, 0, ""
}

func (e *Emulator) handleMe(w http.ResponseWriter, r *http.Request, c caller) {
	u := iam.User{
		Id:          strconv.FormatInt(c.principal.ID, 10),
		UserName:    c.principal.Name,
		DisplayName: c.principal.DisplayName,
		Active:      true,
		Schemas:     []iam.UserSchema{iam.UserSchemaUrnIetfParamsScimSchemasCore20User},
	}
	if c.principal.Kind == kindUser {
		u.Emails = []iam.ComplexValue{{Value: c.principal.Name, Primary: true, Type: "work"}}
	}
	writeJSON(w, http.StatusOK, u)
}

// handleDatabaseCredential is Lakebase Provisioned's credential API.
func (e *Emulator) handleDatabaseCredential(w http.ResponseWriter, r *http.Request, c caller) {
	var req database.GenerateDatabaseCredentialRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if len(req.InstanceNames) == 0 && len(req.Claims) == 0 {
		writeAPIError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "At least one of instance_names or claims must be specified")
		return
	}
	for _, name := range req.InstanceNames {
		if name != instanceName {
			writeAPIError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Database instance '%s' does not exist", name))
			return
		}
	}
	if !e.mayConnect(w, c, "database instance "+instanceName) {
		return
	}
	token, expiry, ok := e.mintCredential(w, c, "instance/"+instanceName, e.cfg.TokenTTL)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, database.DatabaseCredential{Token: token, ExpirationTime: expiry.Format(time.RFC3339)})
}

// handlePostgresCredential is Lakebase Autoscaling's credential API. A
// requested ttl or expire_time must lie within 5 minutes and 1 hour, as on
// Databricks; the credential then lives that long, capped by the emulator's
// token TTL.
func (e *Emulator) handlePostgresCredential(w http.ResponseWriter, r *http.Request, c caller) {
	var req postgres.GenerateDatabaseCredentialRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if req.Endpoint == "" {
		writeAPIError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "endpoint is required: projects/{project_id}/branches/{branch_id}/endpoints/{endpoint_id}")
		return
	}
	if req.Endpoint != endpointName {
		writeAPIError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Endpoint '%s' does not exist", req.Endpoint))
		return
	}
	ttl := e.cfg.TokenTTL
	if req.Ttl != nil || req.ExpireTime != nil {
		if req.Ttl != nil && req.ExpireTime != nil {
			writeAPIError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "give ttl or expire_time, not both")
			return
		}
		var requested time.Duration
		if req.Ttl != nil {
			requested = req.Ttl.AsDuration()
		} else {
			requested = time.Until(req.ExpireTime.AsTime()).Round(time.Second)
		}
		if requested < 5*time.Minute || requested > time.Hour {
			writeAPIError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE",
				fmt.Sprintf("credential lifetime %s is out of range: it must be between 300 and 3600 seconds", requested))
			return
		}
		ttl = min(ttl, requested)
	}
	if !e.mayConnect(w, c, "endpoint "+endpointName) {
		return
	}
	token, expiry, ok := e.mintCredential(w, c, "endpoint/"+endpointName, ttl)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, postgres.DatabaseCredential{Token: token, ExpireTime: sdktime.New(expiry)})
}

func (e *Emulator) mayConnect(w http.ResponseWriter, c caller, what string) bool {
	if !c.principal.CanConnectLakebase {
		writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
			fmt.Sprintf("%s (%s) does not have permission to connect to %s", c.principal.DisplayName, c.principal.Name, what))
	}
	return c.principal.CanConnectLakebase
}

// mintCredential signs a Lakebase credential for the caller's principal.
func (e *Emulator) mintCredential(w http.ResponseWriter, c caller, target string, ttl time.Duration) (string, time.Time, bool) {
	now := time.Now()
	expiry := now.Add(ttl).Truncate(time.Second)
	token, err := e.signer.sign(&Claims{Issuer: e.info.WorkspaceURL + "/oidc", Subject: c.principal.Name,
		Audience: "lakebase", Kind: c.principal.Kind, Target: target,
		IssuedAt: now.Unix(), Expiry: expiry.Unix(), ID: randomID(12)})
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "signing failed")
		return "", time.Time{}, false
	}
	e.stats.update(func(s *Stats) { s.CredentialsIssued++ })
	e.log.Info("lakebase credential issued", "principal", c.principal.Name, "target", target, "expires", expiry.Format(time.RFC3339))
	return token, expiry.UTC(), true
}

func (e *Emulator) handleGetInstance(w http.ResponseWriter, r *http.Request, c caller) {
	if name := r.PathValue("name"); name != instanceName {
		writeAPIError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Database instance '%s' does not exist", name))
		return
	}
	writeJSON(w, http.StatusOK, database.DatabaseInstance{
		Name:         instanceName,
		Uid:          "a1b2c3d4-0000-4000-8000-000000000001",
		State:        database.DatabaseInstanceStateAvailable,
		Capacity:     "CU_1",
		PgVersion:    fmt.Sprintf("PG_VERSION_%d", e.pgMajor),
		ReadWriteDns: "127.0.0.1",
		Creator:      e.dir.user.Name,
	})
}

func (e *Emulator) handleGetEndpoint(w http.ResponseWriter, r *http.Request, c caller) {
	name := "projects/" + r.PathValue("project") + "/branches/" + r.PathValue("branch") + "/endpoints/" + r.PathValue("endpoint")
	if name != endpointName {
		writeAPIError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Endpoint '%s' does not exist", name))
		return
	}
	writeJSON(w, http.StatusOK, postgres.Endpoint{
		Name:       endpointName,
		EndpointId: "primary",
		Parent:     "projects/lakelink-demo/branches/production",
		Uid:        "a1b2c3d4-0000-4000-8000-000000000002",
		Status: &postgres.EndpointStatus{
			CurrentState: postgres.EndpointStatusStateActive,
			EndpointType: postgres.EndpointTypeEndpointTypeReadWrite,
			Hosts:        &postgres.EndpointHosts{Host: "127.0.0.1"},
		},
	})
}

func (e *Emulator) handleGetApp(w http.ResponseWriter, r *http.Request, c caller) {
	if name := r.PathValue("name"); name != appName {
		writeAPIError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("App with name %s does not exist.", name))
		return
	}
	sp := e.dir.servicePrincipal
	writeJSON(w, http.StatusOK, apps.App{
		Name:                     appName,
		Id:                       "a1b2c3d4-0000-4000-8000-000000000003",
		Url:                      e.info.AppURL,
		Description:              "The lakelink emulator's demo app: /api/whoami, /api/echo, /api/genie",
		AppStatus:                &apps.ApplicationStatus{State: apps.ApplicationStateRunning, Message: "App is running"},
		ComputeStatus:            &apps.ComputeStatus{State: apps.ComputeStateActive, Message: "App compute is running."},
		ServicePrincipalClientId: sp.Name,
		ServicePrincipalId:       sp.ID,
		ServicePrincipalName:     sp.DisplayName,
		UserApiScopes:            e.cfg.AppUserAPIScopes,
		EffectiveUserApiScopes:   e.effectiveUserAPIScopes(),
		Creator:                  e.dir.user.Name,
	})
}

// decodeBody decodes a request body holding one JSON value into v,
// answering 400 on failure; strict refuses fields v does not have.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, strict bool) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON value")
	}
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "Could not parse request body as JSON: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeAPIError writes Databricks' REST error body.
func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error_code": code, "message": message})
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequests logs method, path (never the query, which may carry a code)
// and status of every request.
func (e *Emulator) logRequests(server string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		h.ServeHTTP(rec, r)
		e.log.Info("request", "server", server, "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

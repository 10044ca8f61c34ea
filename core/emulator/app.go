package emulator

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// appHandler is the emulated Databricks App behind its platform proxy. The
// proxy admits /api/ routes with a bearer token whose principal has CAN USE
// on the app, strips the Authorization header and injects the X-Forwarded-*
// identity headers, as Databricks Apps do; other routes send browsers to
// the workspace's login.
func (e *Emulator) appHandler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("/api/whoami", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{
			"user":               r.Header.Get("X-Forwarded-User"),
			"email":              r.Header.Get("X-Forwarded-Email"),
			"preferred_username": r.Header.Get("X-Forwarded-Preferred-Username"),
		})
	})
	api.HandleFunc("/api/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			writeAPIError(w, http.StatusRequestEntityTooLarge, "INVALID_PARAMETER_VALUE", "body over 10 MiB")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.Query(), "headers": r.Header, "body": string(body),
		})
	})
	api.HandleFunc("/api/genie", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"answer": "Genie says hello to " + r.Header.Get("X-Forwarded-Email")})
	})
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("The app has no route %s", r.URL.Path))
	})
	// routeScopes are the user-authorization scopes a route needs.
	routeScopes := map[string]string{"/api/genie": "dashboards.genie"}

	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			e.redirectToLogin(w, r)
			return
		}
		c, status, message := e.authenticateBearer(r)
		if status != 0 {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeAPIError(w, status, "UNAUTHENTICATED", message)
			return
		}
		p := c.principal
		if !p.CanUseApp {
			writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
				fmt.Sprintf("%s (%s) does not have CAN USE permission on app %s", p.DisplayName, p.Name, appName))
			return
		}
		if need := routeScopes[r.URL.Path]; need != "" && !c.claims.HasScope(need) {
			writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
				fmt.Sprintf("The access token is missing the scope %s required by %s (it has: %s)", need, r.URL.Path, c.claims.Scope))
			return
		}
		r.Header.Del("Authorization")
		r.Header.Set("X-Forwarded-User", strconv.FormatInt(p.ID, 10)+"@"+workspaceID)
		r.Header.Set("X-Forwarded-Email", p.Name)
		r.Header.Set("X-Forwarded-Preferred-Username", p.Name)
		r.Header.Set("X-Request-Id", newApplicationID())
		api.ServeHTTP(w, r)
	})
	return e.logRequests("app", e.route(epApp, proxy))
}

// redirectToLogin sends a browser to the workspace's authorize endpoint, as
// the Apps platform does for any route that is not token-authenticated.
func (e *Emulator) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	challenge := sha256.Sum256([]byte(randomID(32)))
	q := url.Values{
		"client_id":             {appName},
		"redirect_uri":          {e.info.AppURL + "/.auth/callback"},
		"response_type":         {"code"},
		"scope":                 {"all-apis offline_access"},
		"state":                 {r.URL.Path},
		"code_challenge":        {b64.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	http.Redirect(w, r, e.info.WorkspaceURL+"/oidc/v1/authorize?"+q.Encode(), http.StatusFound)
}

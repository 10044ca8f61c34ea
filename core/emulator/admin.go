package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakelink/lakelink/core/weburl"
)

// Endpoint names, used by /_emulator/stats and /_emulator/faults.
const (
	epDatabricksConfig    = "databricks-config"
	epOAuthMetadata       = "oauth-metadata"
	epJWKS                = "jwks"
	epAuthorize           = "authorize"
	epToken               = "token"
	epSCIMMe              = "scim-me"
	epDatabaseCredentials = "database-credentials"
	epPostgresCredentials = "postgres-credentials"
	epDatabaseInstances   = "database-instances"
	epPostgresEndpoints   = "postgres-endpoints"
	epApps                = "apps"
	epApp                 = "app" // the app's token-authenticated /api/ routes
	epGateway             = "gateway"
)

var httpEndpoints = []string{epDatabricksConfig, epOAuthMetadata, epJWKS, epAuthorize, epToken, epSCIMMe,
	epDatabaseCredentials, epPostgresCredentials, epDatabaseInstances, epPostgresEndpoints, epApps, epApp}

// Stats counts what the emulator has served since it started.
type Stats struct {
	// Calls counts requests per endpoint (see the ep* names), gateway
	// connections included.
	Calls map[string]int `json:"calls"`
	// Grants counts token requests per grant_type, failed ones included
	// (but not those an injected fault answered); a missing or unsupported
	// grant_type counts as "other".
	Grants map[string]int `json:"grants"`
	// TokensIssued counts access tokens issued by the token endpoint.
	TokensIssued int `json:"tokens_issued"`
	// RefreshTokensRedeemed counts refresh tokens exchanged successfully;
	// RefreshTokensReused counts attempts to use one a second time.
	RefreshTokensRedeemed int `json:"refresh_tokens_redeemed"`
	RefreshTokensReused   int `json:"refresh_tokens_reused"`
	// CredentialsIssued counts Lakebase credentials from either API.
	CredentialsIssued int `json:"credentials_issued"`
	GatewayLogins     struct {
		Accepted int `json:"accepted"`
		Refused  int `json:"refused"`
	} `json:"gateway_logins"`
	// Open counts the connections open now, for tests that check that
	// clients leak none: HTTP connections to the workspace and the app,
	// and Lakebase sessions (from accept to close, logged in or not).
	Open struct {
		Workspace int `json:"workspace"`
		App       int `json:"app"`
		Gateway   int `json:"gateway"`
	} `json:"open"`
	// PostgresRestarts counts restarts of the backing server.
	PostgresRestarts int `json:"postgres_restarts"`
	// UserAgents counts requests per endpoint (as Calls) and User-Agent
	// header, so that tests see who called: lakelink's User-Agent names
	// its version, binding and auth type.
	UserAgents map[string]map[string]int `json:"user_agents"`
}

// maxUserAgents bounds the User-Agents Stats tells apart per endpoint;
// the rest count as "(others)".
const maxUserAgents = 64

type stats struct {
	mu sync.Mutex
	s  Stats
}

func newStats() *stats {
	return &stats{s: Stats{Calls: map[string]int{}, Grants: map[string]int{}, UserAgents: map[string]map[string]int{}}}
}

// update applies f to the counters under the lock.
func (st *stats) update(f func(*Stats)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(&st.s)
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Calls, s.Grants = maps.Clone(st.s.Calls), maps.Clone(st.s.Grants)
	s.UserAgents = make(map[string]map[string]int, len(st.s.UserAgents))
	for ep, agents := range st.s.UserAgents {
		s.UserAgents[ep] = maps.Clone(agents)
	}
	return s
}

// Fault kinds.
const (
	faultServerError = "500"       // respond 500 with a Databricks error body
	faultRateLimit   = "429"       // respond 429 with Retry-After
	faultHang        = "hang"      // wait Duration (or until the client leaves), then serve normally
	faultMalformed   = "malformed" // respond 200 with a body that is not valid JSON
	faultHuge        = "huge"      // respond 200 with a 10 MiB JSON body
	faultDrop        = "drop"      // gateway only: close the connection at once
	faultCut         = "cut"       // gateway only: end the session Duration after login
)

// hugeBodySize is the size of a "huge" fault's body.
const hugeBodySize = 10 << 20

// Fault makes the next Count calls of Endpoint misbehave.
type Fault struct {
	Endpoint string `json:"endpoint"`
	Kind     string `json:"kind"`
	Count    int    `json:"count"` // default 1
	// RetryAfterSeconds is the Retry-After of a 429 (default 1).
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
	// Duration is how long a hang lasts, or how long a cut session lives
	// after its login, as a Go duration ("2s").
	Duration string `json:"duration,omitempty"`
	duration time.Duration
	// Body is what a "malformed" fault answers in place of its default
	// (a token answer cut short), such as a credential cut short: tests
	// put a secret in it and check that no error or log shows it.
	Body string `json:"body,omitempty"`
}

func (f *Fault) validate() error {
	isGateway := f.Endpoint == epGateway
	if !isGateway && !slices.Contains(httpEndpoints, f.Endpoint) {
		return fmt.Errorf("unknown endpoint %q; known: %s, %s", f.Endpoint, strings.Join(httpEndpoints, ", "), epGateway)
	}
	switch {
	case isGateway && f.Kind != faultDrop && f.Kind != faultCut:
		return fmt.Errorf("kind %q: the gateway supports only %q and %q", f.Kind, faultDrop, faultCut)
	case !isGateway && !slices.Contains([]string{faultServerError, faultRateLimit, faultHang, faultMalformed, faultHuge}, f.Kind):
		return fmt.Errorf("kind %q: want one of 500, 429, hang, malformed, huge", f.Kind)
	}
	if f.Body != "" && f.Kind != faultMalformed {
		return fmt.Errorf("body: only a %q fault answers a body of the test's choosing", faultMalformed)
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Count < 0 {
		return fmt.Errorf("count %d: must be positive", f.Count)
	}
	if f.Kind == faultRateLimit && f.RetryAfterSeconds <= 0 {
		f.RetryAfterSeconds = 1
	}
	if f.Kind == faultHang || f.Kind == faultCut {
		d, err := time.ParseDuration(f.Duration)
		if err != nil || d <= 0 {
			return fmt.Errorf("duration %q: a %s needs a positive Go duration such as \"2s\"", f.Duration, f.Kind)
		}
		f.duration = d
	}
	return nil
}

// faults holds the armed faults, consumed in order per endpoint.
type faults struct {
	mu      sync.Mutex
	pending map[string][]*Fault
}

func newFaults() *faults { return &faults{pending: map[string][]*Fault{}} }

func (fs *faults) add(f *Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.pending[f.Endpoint] = append(fs.pending[f.Endpoint], f)
}

// take consumes one use of the first armed fault of endpoint, if any.
func (fs *faults) take(endpoint string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	queue := fs.pending[endpoint]
	if len(queue) == 0 {
		return nil
	}
	f := *queue[0]
	if queue[0].Count--; queue[0].Count == 0 {
		fs.pending[endpoint] = queue[1:]
	}
	return &f
}

func (fs *faults) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := []Fault{}
	for _, ep := range slices.Sorted(maps.Keys(fs.pending)) {
		for _, f := range fs.pending[ep] {
			out = append(out, *f)
		}
	}
	return out
}

func (fs *faults) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	clear(fs.pending)
}

// route wraps an HTTP handler as a named endpoint: counted in stats, and
// subject to armed faults.
func (e *Emulator) route(name string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.stats.update(func(s *Stats) {
			s.Calls[name]++
			if s.UserAgents[name] == nil {
				s.UserAgents[name] = map[string]int{}
			}
			agent := r.UserAgent()
			if _, seen := s.UserAgents[name][agent]; !seen && len(s.UserAgents[name]) >= maxUserAgents {
				agent = "(others)"
			}
			s.UserAgents[name][agent]++
		})
		f := e.faults.take(name)
		if f == nil {
			h(w, r)
			return
		}
		e.log.Info("fault injected", "endpoint", name, "kind", f.Kind)
		switch f.Kind {
		case faultServerError:
			writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Injected fault: internal error")
		case faultRateLimit:
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfterSeconds))
			writeAPIError(w, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "Injected fault: too many requests")
		case faultMalformed:
			w.Header().Set("Content-Type", "application/json")
			body := f.Body
			if body == "" {
				body = `{"access_token": "trunc`
			}
			w.Write([]byte(body))
		case faultHuge:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(hugeBodySize))
			padding := `{"error_description": "` // a JSON string to the end
			w.Write([]byte(padding))
			w.Write(bytes.Repeat([]byte{'x'}, hugeBodySize-len(padding)-2))
			w.Write([]byte(`"}`))
		case faultHang:
			// With the body read, the server watches the connection and
			// ends r's context when the client leaves; the handler then
			// reads the body from this copy.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-time.After(f.duration):
				h(w, r)
			case <-r.Context().Done():
			}
		}
	})
}

// adminHandler serves /_emulator/stats, /_emulator/faults,
// /_emulator/postgres/restart and /_emulator/users to this machine's own programs, not to web
// pages that its user visits: see fromThisMachine and changesState.
func (e *Emulator) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.stats.snapshot())
	})
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.faults.list())
	})
	mux.HandleFunc("DELETE /_emulator/faults", changesState(func(w http.ResponseWriter, r *http.Request) {
		e.faults.clear()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /_emulator/faults", changesState(func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if !decodeBody(w, r, &f, true) {
			return
		}
		if err := f.validate(); err != nil {
			writeAPIError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "fault: "+err.Error())
			return
		}
		armed := f // the store's copy changes as calls consume it
		e.faults.add(&armed)
		writeJSON(w, http.StatusCreated, f)
	}))
	mux.HandleFunc("POST /_emulator/postgres/restart", changesState(func(w http.ResponseWriter, r *http.Request) {
		if err := e.RestartPostgres(r.Context()); errors.Is(err, errExternalPostgres) {
			writeAPIError(w, http.StatusConflict, "INVALID_STATE", err.Error())
			return
		} else if err != nil {
			writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /_emulator/users", changesState(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Email string `json:"email"`
		}
		if !decodeBody(w, r, &req, true) {
			return
		}
		if err := checkEmail(req.Email); err != nil {
			writeAPIError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("email %q: %s", req.Email, err))
			return
		}
		token, created, err := e.addUser(r.Context(), req.Email)
		switch {
		case errors.Is(err, errTooManyUsers):
			writeAPIError(w, http.StatusBadRequest, "RESOURCE_LIMIT_EXCEEDED", err.Error())
			return
		case err != nil:
			writeAPIError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, map[string]string{"email": req.Email, "access_token": token})
	}))
	return fromThisMachine(e.workspacePort(), mux)
}

// fromThisMachine passes on the requests addressed to this machine's
// loopback at port: a Host that weburl.IsLoopback takes for this machine
// (localhost, 127.0.0.0/8, ::1), with that port. Every listener is on 127.0.0.1, but a web page can still reach it
// under a host name of its own that it has resolve to 127.0.0.1 (DNS
// rebinding); its requests then carry that name, and are refused.
func fromThisMachine(port string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, p, err := net.SplitHostPort(r.Host)
		if err != nil {
			host, p = r.Host, "80"
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if p != port || !weburl.IsLoopback(host) {
			writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED", fmt.Sprintf(
				"Host %q: the emulator's admin endpoint answers only requests to 127.0.0.1:%s (or localhost, [::1])", r.Host, port))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// changesState passes on a request that changes the emulator's state only
// when it says its body is JSON (Content-Type application/json, even
// without a body): a web page may send another origin a text/plain or
// form POST unasked, but JSON only after a CORS preflight, which the
// emulator never grants.
func changesState(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || t != "application/json" {
			writeAPIError(w, http.StatusUnsupportedMediaType, "INVALID_PARAMETER_VALUE", fmt.Sprintf(
				"Content-Type %q: send application/json; the emulator's admin endpoint changes nothing for other types, "+
					"which web pages can send it", r.Header.Get("Content-Type")))
			return
		}
		h(w, r)
	}
}

// workspacePort is the port of the workspace server, which serves the
// admin endpoint.
func (e *Emulator) workspacePort() string {
	u, _ := url.Parse(e.info.WorkspaceURL)
	return u.Port()
}

var errExternalPostgres = errors.New("the backing PostgreSQL server was given with --postgres-url: the emulator restarts only a cluster it started")

// RestartPostgres restarts the backing PostgreSQL cluster (a fast
// shutdown, which ends every session, then a start on the same port), as
// a managed database's restart or failover would. It fails for a server
// given as Config.PostgresURL.
func (e *Emulator) RestartPostgres(ctx context.Context) error {
	if e.cluster == nil {
		return errExternalPostgres
	}
	e.log.Info("restarting postgres")
	if err := e.cluster.restart(ctx); err != nil {
		return err
	}
	e.admin.Reset() // its sessions ended with the server
	e.stats.update(func(s *Stats) { s.PostgresRestarts++ })
	return nil
}

// AddUser adds a workspace user with this email unless it exists: a new
// SCIM id, CAN USE on the app, the right to connect to Lakebase, and its
// PostgreSQL role on the backend, named after the email as the gateway
// logs in, so that a test may grant it rights before it connects. It
// returns a new access token of the user, such as a browser session with
// the app holds (all-apis, offline_access and the app's user API scopes;
// the token TTL), to call the app, the workspace or Lakebase as the user.
// At most 10,000 users may be added.
func (e *Emulator) AddUser(ctx context.Context, email string) (token string, err error) {
	token, _, err = e.addUser(ctx, email)
	return token, err
}

// addUser is AddUser, also telling whether the user is new.
func (e *Emulator) addUser(ctx context.Context, email string) (token string, created bool, err error) {
	p, created, err := e.dir.addUser(email)
	if err != nil {
		return "", false, err
	}
	if err := e.ensureRole(ctx, p.Name, e.rolePassword(p.Name)); err != nil {
		return "", false, fmt.Errorf("creating the PostgreSQL role of %s: %w", p.Name, err)
	}
	if token, err = e.signAccessToken(p, appName, e.sessionScopes(), time.Now().Add(e.cfg.TokenTTL)); err != nil {
		return "", false, err
	}
	if created {
		e.log.Info("user added", "user", p.Name, "id", p.ID)
	}
	return token, created, nil
}

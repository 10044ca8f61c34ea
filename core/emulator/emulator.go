// Package emulator is a local stand-in for the three things lakelink talks
// to: a Databricks workspace (OAuth 2.0 server and REST API), a Databricks
// App, and a Lakebase PostgreSQL endpoint. It lets lakelink, and its users,
// develop and test Apps and Lakebase code offline and in CI.
//
// Fidelity comes from the Databricks documentation and from
// databricks-sdk-go, whose own request and response types the REST handlers
// use. Every server listens on 127.0.0.1 only.
//
// Start runs an emulator in-process; the CLI's `lakelink emulator` runs one
// until it is signalled and writes its Info to emulator.json, which tests in
// every language read.
package emulator

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures an emulator. The zero value is usable.
type Config struct {
	// StateDir receives emulator.json and the gateway's CA file. Empty means
	// a temporary directory, removed on Close. A state dir whose
	// emulator.json names a live process is refused.
	StateDir string
	// TokenTTL is the lifetime of access tokens and Lakebase credentials:
	// at least 1s; 0 means the default, 1h. Short values let tests cross an
	// expiry quickly.
	TokenTTL time.Duration
	// PostgresURL names a running PostgreSQL server (a role that may create
	// roles and databases) to proxy Lakebase sessions to, as a URL or
	// key=value pairs. Empty means $LAKELINK_EMULATOR_POSTGRES_URL when set
	// (where no cluster can start, as for Windows tests under wine: see
	// build/platforms), else the emulator starts a throwaway cluster from
	// the installed binaries.
	PostgresURL string
	// Interactive shows a consent page with an Allow button at the
	// authorize endpoint instead of signing the user in at once.
	Interactive bool
	// WorkspaceAddr, AppAddr and LakebaseAddr are listen addresses
	// (default 127.0.0.1:0, a free port). Only 127.0.0.1 is accepted.
	WorkspaceAddr, AppAddr, LakebaseAddr string
	// UserEmail is the user the authorize endpoint signs in
	// (default dev.user@example.com).
	UserEmail string
	// OAuthApps registers extra OAuth clients besides databricks-cli.
	OAuthApps []OAuthApp
	// AppUserAPIScopes turns on the app's user authorization with these
	// user API scopes (such as sql, dashboards.genie): the app's browser
	// sign-in asks for them, GET /api/2.0/apps/{name} reports them, and the
	// app's proxy forwards to the app, for a user, a token of that user
	// restricted to them and Databricks' default scopes in
	// X-Forwarded-Access-Token. Empty means user authorization is off:
	// no X-Forwarded-Access-Token.
	AppUserAPIScopes []string
	// Logger receives one line per request and session; nil discards. No
	// secret or token is ever logged.
	Logger *slog.Logger
}

// Defaults of Config. The CLI leaves them to Start.
const (
	defaultTokenTTL  = time.Hour
	defaultUserEmail = "dev.user@example.com"
)

// applyDefaults fills in the defaults and checks what needs no I/O.
func (c *Config) applyDefaults() error {
	if c.TokenTTL == 0 {
		c.TokenTTL = defaultTokenTTL
	}
	if c.TokenTTL < time.Second {
		return fmt.Errorf("token TTL %s: must be at least 1s", c.TokenTTL)
	}
	if c.UserEmail == "" {
		c.UserEmail = defaultUserEmail
	}
	if err := checkEmail(c.UserEmail); err != nil {
		return fmt.Errorf("user email %q: %w", c.UserEmail, err)
	}
	var err error
	if c.AppUserAPIScopes, err = checkUserAPIScopes(c.AppUserAPIScopes); err != nil {
		return err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PostgresURL == "" {
		c.PostgresURL = os.Getenv("LAKELINK_EMULATOR_POSTGRES_URL")
	}
	return nil
}

// Names of the emulated resources.
const (
	instanceName = "lakelink-demo"
	endpointName = "projects/lakelink-demo/branches/production/endpoints/primary"
	appName      = "lakelink-demo-app"
	databaseName = "databricks_postgres"
	// serverName is a Lakebase-like host name that the gateway's
	// certificate is valid for, besides 127.0.0.1 and localhost.
	serverName  = "instance-lakelink-demo.database.cloud.databricks.com"
	workspaceID = "1234567890123456"
)

// Info is what emulator.json holds: where everything is and who may use it.
// It is a contract with tests in every language: fields may be added, never
// renamed or removed.
type Info struct {
	WorkspaceURL     string       `json:"workspace_url"`
	AppURL           string       `json:"app_url"`
	AppName          string       `json:"app_name"`
	Lakebase         LakebaseInfo `json:"lakebase"`
	ServicePrincipal ClientInfo   `json:"service_principal"`
	Outsider         ClientInfo   `json:"outsider"`
	User             UserInfo     `json:"user"`
	AdminURL         string       `json:"admin_url"`
	// AppUserAPIScopes are the app's user API scopes (Config's); empty
	// when its user authorization is off.
	AppUserAPIScopes []string `json:"app_user_api_scopes"`
	// WorkspaceID is sent by the SDK as X-Databricks-Workspace-Id.
	WorkspaceID string `json:"workspace_id"`
	// TokenTTLSeconds is the lifetime of tokens and credentials.
	TokenTTLSeconds int64 `json:"token_ttl_seconds"`
	// PID is the emulator's process id.
	PID int `json:"pid"`
	// StateDir is the absolute state dir, temporary or not.
	StateDir string `json:"state_dir"`
}

// LakebaseInfo locates the Lakebase gateway.
type LakebaseInfo struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	CAFile   string `json:"ca_file"`
	// ServerName is a Lakebase-like host name (under Lakebase's AWS
	// domain) that the gateway's certificate is also valid for, to test
	// verify-full as against Lakebase: give it as Server and have the
	// client dial Host (with pgx, a LookupFunc) instead of resolving it.
	ServerName string `json:"server_name"`
	Instance   string `json:"instance"`
	Endpoint   string `json:"endpoint"`
	// PostgresURL reaches the backing PostgreSQL server directly, bypassing
	// the gateway, as its administrator.
	PostgresURL string `json:"postgres_url"`
}

// ClientInfo is a service principal's OAuth credential.
type ClientInfo struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	DisplayName  string `json:"display_name"`
}

// UserInfo is the user the authorize endpoint signs in.
type UserInfo struct {
	Email string `json:"email"`
}

// Emulator is a running emulator. Close stops it.
type Emulator struct {
	cfg    Config
	log    *slog.Logger
	info   Info
	dir    *directory
	signer *signer
	stats  *stats
	faults *faults

	grants      *grantStore // the OAuth server's codes and refresh tokens
	codeTTL     time.Duration
	appSessions appSessions
	forwarded   forwardedTokens

	// listeners are closed by Close whether or not a server took them.
	listeners []net.Listener
	servers   []*http.Server
	gateway   *gateway

	cluster    *cluster // nil when Config.PostgresURL names a server
	admin      *pgxpool.Pool
	backendURL string // the backend's databricks_postgres as its administrator
	pgMajor    int
	roles      roles

	tempDir string   // the state dir, when we made it
	written []string // files this instance wrote in the state dir, in order
	closeMu sync.Mutex
	closed  bool
}

// Start starts every part, writes emulator.json once all are ready, and
// returns. The context bounds start-up only.
func Start(ctx context.Context, cfg Config) (_ *Emulator, err error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	e := &Emulator{cfg: cfg, log: cfg.Logger, stats: newStats(), faults: newFaults(), grants: newGrantStore(),
		codeTTL: 60 * time.Second, appSessions: appSessions{logins: map[string]pendingLogin{}, sessions: map[string]caller{}},
		forwarded: forwardedTokens{tokens: map[[sha256.Size]byte]forwarded{}}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := e.useStateDir(); err != nil {
		return nil, err
	}
	if e.signer, err = newSigner(); err != nil {
		return nil, err
	}
	// Every listener is on 127.0.0.1 (see listen), so only this machine
	// reaches the emulator: no handler, the admin ones included, checks
	// the client's address again.
	workspaceLn, err := e.listen("workspace", e.cfg.WorkspaceAddr)
	if err != nil {
		return nil, err
	}
	appLn, err := e.listen("app", e.cfg.AppAddr)
	if err != nil {
		return nil, err
	}
	lakebaseLn, err := e.listen("lakebase", e.cfg.LakebaseAddr)
	if err != nil {
		return nil, err
	}
	workspaceURL := "http://" + workspaceLn.Addr().String()
	appURL := "http://" + appLn.Addr().String()
	if e.dir, err = newDirectory(e.cfg.UserEmail, appURL+"/.auth/callback", e.cfg.OAuthApps); err != nil {
		return nil, err
	}
	e.info = Info{
		WorkspaceURL: workspaceURL,
		AppURL:       appURL,
		AppName:      appName,
		AdminURL:     workspaceURL + "/_emulator",
		WorkspaceID:  workspaceID,
		User:         UserInfo{Email: e.dir.user.Name},
		ServicePrincipal: ClientInfo{ClientID: e.dir.servicePrincipal.Name, DisplayName: e.dir.servicePrincipal.DisplayName,
			ClientSecret: e.dir.clients[e.dir.servicePrincipal.Name].Secret},
		Outsider: ClientInfo{ClientID: e.dir.outsider.Name, DisplayName: e.dir.outsider.DisplayName,
			ClientSecret: e.dir.clients[e.dir.outsider.Name].Secret},
		AppUserAPIScopes: append([]string{}, e.cfg.AppUserAPIScopes...),
		TokenTTLSeconds:  int64(e.cfg.TokenTTL / time.Second),
		PID:              os.Getpid(),
		StateDir:         e.cfg.StateDir,
	}
	e.gateway = newGateway(e, lakebaseLn)

	if err := e.startBackend(ctx); err != nil {
		return nil, err
	}
	caFile := filepath.Join(e.cfg.StateDir, "lakebase-ca.pem")
	if err := e.gateway.setUpTLS(caFile); err != nil {
		return nil, err
	}
	e.written = append(e.written, caFile)
	e.info.Lakebase = LakebaseInfo{Host: "127.0.0.1", Port: lakebaseLn.Addr().(*net.TCPAddr).Port, Database: databaseName,
		CAFile: caFile, ServerName: serverName, Instance: instanceName, Endpoint: endpointName, PostgresURL: e.backendURL}

	workspace := &http.Server{Handler: e.workspaceHandler(), ReadHeaderTimeout: 10 * time.Second,
		ConnState: e.countOpen(func(s *Stats) *int { return &s.Open.Workspace })}
	app := &http.Server{Handler: e.appHandler(), ReadHeaderTimeout: 10 * time.Second,
		ConnState: e.countOpen(func(s *Stats) *int { return &s.Open.App })}
	e.servers = []*http.Server{workspace, app}
	go workspace.Serve(workspaceLn)
	go app.Serve(appLn)
	e.gateway.start()
	if err := writeFileAtomic(e.statePath(), e.info); err != nil {
		return nil, err
	}
	e.written = append(e.written, e.statePath())
	e.log.Info("emulator ready", "workspace", workspaceURL, "app", appURL, "lakebase", lakebaseLn.Addr().String())
	return e, nil
}

// countOpen is an http.Server's ConnState hook keeping the count of its
// open connections in the counter that field picks.
func (e *Emulator) countOpen(field func(*Stats) *int) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			e.stats.update(func(s *Stats) { *field(s)++ })
		case http.StateClosed, http.StateHijacked:
			e.stats.update(func(s *Stats) { *field(s)-- })
		}
	}
}

// Stats returns the counters /_emulator/stats serves.
func (e *Emulator) Stats() Stats { return e.stats.snapshot() }

// Info describes the running emulator: what emulator.json holds.
func (e *Emulator) Info() Info { return e.info }

func (e *Emulator) statePath() string { return filepath.Join(e.cfg.StateDir, "emulator.json") }

// useStateDir makes the state dir (a temporary one when none is given) and
// its path absolute, and refuses one that a running emulator holds.
func (e *Emulator) useStateDir() (err error) {
	if e.cfg.StateDir == "" {
		if e.tempDir, err = os.MkdirTemp("", "lakelink-emulator-*"); err != nil {
			return err
		}
		e.cfg.StateDir = e.tempDir
	} else if err := os.MkdirAll(e.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if e.cfg.StateDir, err = filepath.Abs(e.cfg.StateDir); err != nil {
		return err
	}
	return refuseLiveState(e.statePath())
}

// refuseLiveState fails when the emulator.json at path names a live
// process: another emulator uses the state dir. A missing or unreadable
// file, or one of a process gone, is replaced.
func refuseLiveState(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var held struct {
		PID int `json:"pid"`
	}
	if json.Unmarshal(data, &held) != nil || held.PID <= 0 {
		return nil
	}
	if processAlive(held.PID) {
		return fmt.Errorf("%s belongs to a running emulator (pid %d): stop it, or use another state dir", path, held.PID)
	}
	return nil
}

// Close removes the files it wrote (emulator.json first, so that readers
// stop seeing a live emulator), stops accepting on every listener, drains
// the servers, ends open Lakebase sessions, stops the PostgreSQL cluster it
// started and removes its temporary data. It is safe to call more than once.
func (e *Emulator) Close() error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	for _, path := range slices.Backward(e.written) {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for _, ln := range e.listeners {
		ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range e.servers {
		// Shutdown may also report the listener closed above; only a
		// timeout leaves requests to cut short.
		if err := s.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			s.Close()
		}
	}
	if e.gateway != nil {
		e.gateway.close()
	}
	if e.admin != nil {
		e.admin.Close()
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.stop())
	}
	if e.tempDir != "" {
		errs = append(errs, os.RemoveAll(e.tempDir))
	}
	return errors.Join(errs...)
}

// listen listens on addr (default 127.0.0.1:0) for part, refusing any host
// but 127.0.0.1, which emulator.json and the gateway's certificate name:
// the emulator hands out credentials freely. Close closes the listener.
func (e *Emulator) listen(part, addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w", part, addr, err)
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("%s address %q: the emulator listens on 127.0.0.1 only", part, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", part, err)
	}
	e.listeners = append(e.listeners, ln)
	return ln, nil
}

// writeFileAtomic writes v as indented JSON to path through a temporary file
// in the same directory, so that a reader sees the whole file or none.
func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".emulator-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures an emulator. The zero value is usable.
type Config struct {
	// StateDir receives emulator.json and the gateway's CA file. Empty means
	// a temporary directory, removed on Close.
	StateDir string
	// TokenTTL is the lifetime of access tokens and Lakebase credentials
	// (default 1h). Short values let tests cross an expiry quickly.
	TokenTTL time.Duration
	// PostgresURL names a running PostgreSQL server (a role that may create
	// roles and databases) to proxy Lakebase sessions to. Empty means the
	// emulator starts a throwaway cluster from the installed binaries.
	PostgresURL string
	// Interactive shows a consent page with an Allow button at the
	// authorize endpoint instead of signing the user in at once.
	Interactive bool
	// WorkspaceAddr, AppAddr and LakebaseAddr are listen addresses
	// (default 127.0.0.1:0, a free port). Only loopback hosts are accepted.
	WorkspaceAddr, AppAddr, LakebaseAddr string
	// UserEmail is the user the authorize endpoint signs in
	// (default dev.user@example.com).
	UserEmail string
	// OAuthApps registers extra OAuth clients besides databricks-cli.
	OAuthApps []OAuthApp
	// Logger receives one line per request and session; nil discards. No
	// secret or token is ever logged.
	Logger *slog.Logger
}

// Names of the emulated resources.
const (
	instanceName = "lakelink-demo"
	endpointName = "projects/lakelink-demo/branches/production/endpoints/primary"
	appName      = "lakelink-demo-app"
	databaseName = "databricks_postgres"
	workspaceID  = "1234567890123456"
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
	// WorkspaceID is sent by the SDK as X-Databricks-Workspace-Id.
	WorkspaceID string `json:"workspace_id"`
	// TokenTTLSeconds is the lifetime of tokens and credentials.
	TokenTTLSeconds int64 `json:"token_ttl_seconds"`
	// PID is the emulator's process id.
	PID int `json:"pid"`
}

// LakebaseInfo locates the Lakebase gateway.
type LakebaseInfo struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	CAFile   string `json:"ca_file"`
	Instance string `json:"instance"`
	Endpoint string `json:"endpoint"`
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

	servers []*http.Server
	gateway *gateway

	cluster    *cluster // nil when Config.PostgresURL names a server
	admin      *pgxpool.Pool
	backendURL string // the backend's databricks_postgres as its administrator
	pgMajor    int
	roles      roles

	tempDir string // the state dir, when we made it
	closeMu sync.Mutex
	closed  bool
}

// Start starts every part, writes emulator.json once all are ready, and
// returns. The context bounds start-up only.
func Start(ctx context.Context, cfg Config) (_ *Emulator, err error) {
	e := &Emulator{cfg: cfg, stats: newStats(), faults: newFaults(), grants: newGrantStore(), codeTTL: 60 * time.Second,
		appSessions: appSessions{logins: map[string]pendingLogin{}, sessions: map[string]caller{}}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.cfg.TokenTTL <= 0 {
		e.cfg.TokenTTL = time.Hour
	}
	if e.cfg.UserEmail == "" {
		e.cfg.UserEmail = "dev.user@example.com"
	}
	e.log = cfg.Logger
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.cfg.StateDir == "" {
		if e.tempDir, err = os.MkdirTemp("", "lakelink-emulator-*"); err != nil {
			return nil, err
		}
		e.cfg.StateDir = e.tempDir
	} else if err := os.MkdirAll(e.cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if e.cfg.StateDir, err = filepath.Abs(e.cfg.StateDir); err != nil {
		return nil, err
	}
	if e.signer, err = newSigner(); err != nil {
		return nil, err
	}
	e.dir = newDirectory(e.cfg.UserEmail, cfg.OAuthApps)

	workspaceLn, err := listenLoopback("workspace", e.cfg.WorkspaceAddr)
	if err != nil {
		return nil, err
	}
	appLn, err := listenLoopback("app", e.cfg.AppAddr)
	if err != nil {
		workspaceLn.Close()
		return nil, err
	}
	lakebaseLn, err := listenLoopback("lakebase", e.cfg.LakebaseAddr)
	if err != nil {
		workspaceLn.Close()
		appLn.Close()
		return nil, err
	}
	workspaceURL := "http://" + workspaceLn.Addr().String()
	appURL := "http://" + appLn.Addr().String()
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
		TokenTTLSeconds: int64(e.cfg.TokenTTL / time.Second),
		PID:             os.Getpid(),
	}
	// The app's own OAuth integration, where its browser sign-in returns.
	e.dir.clients[appName] = &oauthClient{ID: appName, Secret: "dose" + randomHex(32),
		RedirectURIs: []string{appURL + "/.auth/callback"}, Scopes: knownScopes}
	// The servers own their listeners from here on, so Close releases them.
	workspace := &http.Server{Handler: e.workspaceHandler(), ReadHeaderTimeout: 10 * time.Second}
	app := &http.Server{Handler: e.appHandler(), ReadHeaderTimeout: 10 * time.Second}
	e.servers = []*http.Server{workspace, app}
	e.gateway = newGateway(e, lakebaseLn)

	if err := e.startBackend(ctx); err != nil {
		return nil, err
	}
	caFile := filepath.Join(e.cfg.StateDir, "lakebase-ca.pem")
	if err := e.gateway.setUpTLS(caFile); err != nil {
		return nil, err
	}
	lakebaseAddr := lakebaseLn.Addr().(*net.TCPAddr)
	e.info.Lakebase = LakebaseInfo{Host: "127.0.0.1", Port: lakebaseAddr.Port, Database: databaseName, CAFile: caFile,
		Instance: instanceName, Endpoint: endpointName, PostgresURL: e.backendURL}

	go workspace.Serve(workspaceLn)
	go app.Serve(appLn)
	go e.gateway.serve()
	if err := writeFileAtomic(e.statePath(), e.info); err != nil {
		return nil, err
	}
	e.log.Info("emulator ready", "workspace", workspaceURL, "app", appURL, "lakebase", lakebaseLn.Addr().String())
	return e, nil
}

// Info describes the running emulator: what emulator.json holds.
func (e *Emulator) Info() Info { return e.info }

func (e *Emulator) statePath() string { return filepath.Join(e.cfg.StateDir, "emulator.json") }

// Close stops the servers, ends open Lakebase sessions, stops the PostgreSQL
// cluster it started and removes its temporary data and emulator.json.
// It is safe to call more than once.
func (e *Emulator) Close() error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range e.servers {
		if err := s.Shutdown(ctx); err != nil {
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
	if e.cfg.StateDir != "" {
		for _, name := range []string{"emulator.json", "lakebase-ca.pem"} {
			if err := os.Remove(filepath.Join(e.cfg.StateDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if e.tempDir != "" {
		errs = append(errs, os.RemoveAll(e.tempDir))
	}
	return errors.Join(errs...)
}

// listenLoopback listens on addr (default 127.0.0.1:0), refusing any host
// but a loopback one: the emulator hands out credentials freely.
func listenLoopback(part, addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w", part, addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s address %q: the emulator listens on loopback addresses only (127.0.0.1)", part, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", part, err)
	}
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

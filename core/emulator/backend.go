package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// startBackend starts (or connects to) the PostgreSQL server behind the
// gateway and makes sure the Lakebase default database exists.
func (e *Emulator) startBackend(ctx context.Context) error {
	if e.cfg.PostgresURL == "" {
		c, err := startCluster(ctx, e.log)
		if err != nil {
			return err
		}
		e.cluster = c
		if err := createDatabase(ctx, c.url("postgres")); err != nil {
			return err
		}
		e.backendURL = c.url(databaseName)
	} else {
		if err := createDatabase(ctx, e.cfg.PostgresURL); err != nil {
			return fmt.Errorf("--postgres-url: %w", err)
		}
		e.backendURL = withDatabase(e.cfg.PostgresURL, databaseName)
	}
	cfg, err := pgxpool.ParseConfig(e.backendURL)
	if err != nil {
		return fmt.Errorf("backend url: %w", err)
	}
	cfg.MaxConns = 4
	if e.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return err
	}
	return e.admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&e.pgMajor)
}

// withDatabase points a connection string, URL or key=value form, at db.
func withDatabase(connString, db string) string {
	if u, err := url.Parse(connString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return connString + " dbname=" + db // a later key overrides an earlier one
}

// createDatabase creates databricks_postgres unless it exists.
func createDatabase(ctx context.Context, adminURL string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to the PostgreSQL backend: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", databaseName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{databaseName}.Sanitize())
	return err
}

// roles gives each principal a PostgreSQL role on first use, so that the
// gateway can log in to the backend as it. The role's password is derived
// from the backend's administrator URL, so that emulators sharing one
// backend agree on it.
type roles struct {
	mu    sync.Mutex
	ready map[string]bool
}

// backendConfig returns the configuration with which the gateway opens a
// backend session as principal name on database db, preparing the role on
// first use.
func (e *Emulator) backendConfig(ctx context.Context, name, db string) (*pgconn.Config, error) {
	password := e.rolePassword(name)
	if err := e.ensureRole(ctx, name, password); err != nil {
		return nil, err
	}
	cfg := e.admin.Config().ConnConfig.Config.Copy()
	cfg.User, cfg.Password, cfg.Database = name, password, db
	cfg.RuntimeParams = map[string]string{}
	return cfg, nil
}

func (e *Emulator) rolePassword(name string) string {
	mac := hmac.New(sha256.New, []byte(e.backendURL))
	mac.Write([]byte(name))
	return hex.EncodeToString(mac.Sum(nil))
}

// ensureRole creates the role, or resets its password, with rights on
// databricks_postgres and its public schema.
func (e *Emulator) ensureRole(ctx context.Context, name, password string) error {
	r := &e.roles
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready[name] {
		return nil
	}
	role := pgx.Identifier{name}.Sanitize()
	conn, err := e.admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	// PASSWORD takes no parameter placeholder; the value is hex.
	stmts := []string{
		fmt.Sprintf("%s ROLE %s LOGIN PASSWORD '%s'", verb, role, password),
		fmt.Sprintf("GRANT ALL ON DATABASE %s TO %s", pgx.Identifier{databaseName}.Sanitize(), role),
		fmt.Sprintf("GRANT ALL ON SCHEMA public TO %s", role),
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42710" { // created concurrently by another emulator
				continue
			}
			return fmt.Errorf("preparing role %s: %w", role, err)
		}
	}
	if r.ready == nil {
		r.ready = map[string]bool{}
	}
	r.ready[name] = true
	return nil
}

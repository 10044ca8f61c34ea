package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errPostgresURL is the whole error for a connection string that does not
// parse: pgx's own message may quote the password.
var errPostgresURL = errors.New("--postgres-url is not a PostgreSQL connection string: give a URL " +
	"(postgres://user:password@host:port/database) or key=value pairs (host=... port=... user=... password=... dbname=...)")

// startBackend starts (or connects to) the PostgreSQL server behind the
// gateway and makes sure the Lakebase default database exists.
func (e *Emulator) startBackend(ctx context.Context) error {
	adminURL := e.cfg.PostgresURL
	if adminURL == "" {
		c, err := startCluster(ctx, e.log)
		if err != nil {
			return err
		}
		e.cluster = c
		adminURL = c.url("postgres")
	}
	cfg, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return errPostgresURL
	}
	if err := createDatabase(ctx, cfg.ConnConfig); err != nil {
		return err
	}
	e.backendURL = withDatabase(adminURL, databaseName)
	cfg.ConnConfig.Database = databaseName
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
func createDatabase(ctx context.Context, admin *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, admin)
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
// backend through the same URL agree on it.
type roles struct {
	mu    sync.Mutex
	ready map[string]bool
}

// roleMark is the comment on every role the emulator creates. It changes
// no role without it.
const roleMark = "created by the lakelink emulator"

// connectBackend opens a backend session as principal name on database db
// with the client's startup parameters. A login refused for its password
// (28P01) means that another emulator sharing the backend through a
// differently spelled URL set another one: the role's password is then
// reset and the login tried once more.
func (e *Emulator) connectBackend(ctx context.Context, name, db string, params map[string]string) (*pgconn.PgConn, error) {
	for retried := false; ; retried = true {
		password := e.rolePassword(name)
		if err := e.ensureRole(ctx, name, password); err != nil {
			return nil, err
		}
		cfg := e.admin.Config().ConnConfig.Config.Copy()
		cfg.User, cfg.Password, cfg.Database = name, password, db
		cfg.RuntimeParams = maps.Clone(params)
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		var pgErr *pgconn.PgError
		if retried || !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			return conn, err
		}
		e.roles.mu.Lock()
		delete(e.roles.ready, name)
		e.roles.mu.Unlock()
	}
}

func (e *Emulator) rolePassword(name string) string {
	mac := hmac.New(sha256.New, []byte(e.backendURL))
	mac.Write([]byte(name))
	return hex.EncodeToString(mac.Sum(nil))
}

// ensureRole creates the role, marked with roleMark, or resets the password
// of a marked one, with rights on databricks_postgres and its public
// schema. A role the emulator did not create, or a superuser, is refused
// with the FATAL error the gateway passes on.
func (e *Emulator) ensureRole(ctx context.Context, name, password string) error {
	r := &e.roles
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready[name] {
		return nil
	}
	err := e.prepareRole(ctx, name, password)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505") {
		err = e.prepareRole(ctx, name, password) // created meanwhile by another emulator: now it is there
	}
	if err != nil {
		return err
	}
	if r.ready == nil {
		r.ready = map[string]bool{}
	}
	r.ready[name] = true
	return nil
}

// prepareRole does ensureRole's work in one transaction, so that a role is
// never seen created but unmarked.
func (e *Emulator) prepareRole(ctx context.Context, name, password string) error {
	role := pgx.Identifier{name}.Sanitize()
	return pgx.BeginFunc(ctx, e.admin, func(tx pgx.Tx) error {
		var super, marked bool
		err := tx.QueryRow(ctx, "SELECT rolsuper, shobj_description(oid, 'pg_authid') IS NOT DISTINCT FROM $2 FROM pg_roles WHERE rolname = $1",
			name, roleMark).Scan(&super, &marked)
		// PASSWORD takes no parameter placeholder; the value is hex.
		var stmts []string
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			stmts = []string{
				fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, password),
				fmt.Sprintf("COMMENT ON ROLE %s IS '%s'", role, roleMark),
			}
		case err != nil:
			return err
		case super:
			return &pgconn.PgError{Severity: "FATAL", Code: "28000", Message: fmt.Sprintf(
				"role %s is a superuser on the PostgreSQL backend: the lakelink emulator neither logs in as nor changes one", role)}
		case !marked:
			return &pgconn.PgError{Severity: "FATAL", Code: "28000", Message: fmt.Sprintf(
				"role %s exists on the PostgreSQL backend and was not created by the lakelink emulator, "+
					"which leaves it alone: drop it or use another backend", role)}
		default:
			stmts = []string{fmt.Sprintf("ALTER ROLE %s LOGIN PASSWORD '%s'", role, password)}
		}
		stmts = append(stmts,
			fmt.Sprintf("GRANT ALL ON DATABASE %s TO %s", pgx.Identifier{databaseName}.Sanitize(), role),
			fmt.Sprintf("GRANT ALL ON SCHEMA public TO %s", role))
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("preparing role %s: %w", role, err)
			}
		}
		return nil
	})
}

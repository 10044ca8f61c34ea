// Package stdlib is lakelink's database/sql driver for Lakebase, built on
// pgx's stdlib (as pgx's own is): importing it registers the driver
// "lakelink", whose data source name is a lakelink connection string.
//
//	import _ "github.com/lakelink/lakelink/core/lakebase/stdlib"
//
//	db, err := sql.Open("lakelink", "Host=https://my-workspace.cloud.databricks.com;"+
//		"Instance=my-instance;OAuthClientId=...;OAuthClientSecret=...")
//
// Each new session of the *sql.DB logs in by lakelink's rules, those of
// lakebase.Connect's pools: the current Lakebase credential (minted for
// the connection string's identity, cached per identity and renewed ahead
// of its expiry, so the *sql.DB outlives any one credential), TLS per
// SSLMode, a refused credential (28P01) renewed and the login tried once
// more, and lakelink's type map. Statements then run through pgx's stdlib:
// what database/sql, sqlx, GORM (gorm.io/driver/postgres with Conn: db),
// bun, ent, goose or golang-migrate do with pgx's driver, they do here.
//
// OpenDB opens a *sql.DB from parsed options, with a lakebase.Config of
// the program's, and sizes its pool by the connection string's pool
// properties; sql.Open leaves database/sql's pool settings as they are.
package stdlib

import (
	"context"
	"database/sql"
	"database/sql/driver"

	pgxstdlib "github.com/jackc/pgx/v5/stdlib"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
)

// DriverName is the name the driver is registered under.
const DriverName = "lakelink"

func init() {
	sql.Register(DriverName, Driver{})
}

// Driver is the database/sql driver: its data source names are lakelink
// connection strings, logged in with the default lakebase configuration.
type Driver struct{}

// Open opens one session for name, a connection string. database/sql
// calls OpenConnector instead, once per *sql.DB.
func (d Driver) Open(name string) (driver.Conn, error) {
	c, err := d.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector parses name, a connection string, into a Connector of
// the default lakebase configuration.
func (Driver) OpenConnector(name string) (driver.Connector, error) {
	o, err := connstr.Parse(name)
	if err != nil {
		return nil, err
	}
	return NewConnector(nil, o)
}

// Connector opens the sessions of one connection string for database/sql
// (sql.OpenDB): each logs in through lakebase.Connector's rules, then
// serves through pgx's stdlib.
type Connector struct {
	login *lakebase.Connector
	pgx   driver.Connector
}

// NewConnector returns the Connector of the options, with the lakebase
// configuration c (nil: the default one). It does no I/O: the user and
// the credential are found at the first session's login.
func NewConnector(c *lakebase.Config, o *connstr.Options) (*Connector, error) {
	login, err := c.NewConnector(o)
	if err != nil {
		return nil, err
	}
	return &Connector{login: login, pgx: pgxstdlib.GetConnector(*login.ConnConfig(),
		pgxstdlib.OptionBeforeConnect(login.BeforeConnect), pgxstdlib.OptionAfterConnect(login.AfterConnect))}, nil
}

// Connect logs a new session in; see lakebase.Connector.Login for a
// refused login.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := c.login.Login(ctx, func(ctx context.Context) (err error) {
		conn, err = c.pgx.Connect(ctx)
		return err
	})
	return conn, err
}

// Driver returns the lakelink Driver.
func (c *Connector) Driver() driver.Driver { return Driver{} }

// OpenDB opens a *sql.DB over the options, with the lakebase
// configuration c (nil: the default one), whose pool follows the
// connection string's MaxConnections (open and idle sessions), MaxIdleTime
// and MaxLifetime, or lakelink's defaults (lakebase.LimitsOf): sessions
// well within Lakebase's limits. MinConnections has no database/sql
// equivalent. It does no I/O: call db.PingContext to log in now.
func OpenDB(c *lakebase.Config, o *connstr.Options) (*sql.DB, error) {
	connector, err := NewConnector(c, o)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	l := lakebase.LimitsOf(o)
	db.SetMaxOpenConns(l.MaxConnections)
	db.SetMaxIdleConns(l.MaxConnections)
	db.SetConnMaxIdleTime(l.MaxIdleTime)
	db.SetConnMaxLifetime(l.MaxLifetime)
	return db, nil
}

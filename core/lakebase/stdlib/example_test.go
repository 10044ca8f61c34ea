package stdlib_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/core/lakebase/stdlib"
)

// Open a *sql.DB by the driver's name, with a connection string: a
// service principal's OAuth credential that mints the Lakebase
// credential of a Provisioned instance.
func Example() {
	db, err := sql.Open("lakelink", "Host=https://my-workspace.cloud.databricks.com;Instance=my-instance;"+
		"OAuthClientId=...;OAuthClientSecret=...")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var user string
	if err := db.QueryRow("SELECT current_user").Scan(&user); err != nil {
		log.Fatal(err)
	}
	fmt.Println(user)
}

// Open a *sql.DB from parsed options with a lakebase configuration of the
// program's own; its pool follows MaxConnections, MaxIdleTime and
// MaxLifetime.
func ExampleOpenDB() {
	o, err := connstr.Parse("Host=https://my-workspace.cloud.databricks.com;" +
		"Endpoint=projects/my-project/branches/production/endpoints/primary;AuthScheme=Databricks;MaxConnections=20")
	if err != nil {
		log.Fatal(err)
	}
	cfg := &lakebase.Config{}
	defer cfg.Close()
	db, err := stdlib.OpenDB(cfg, o)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(context.Background()); err != nil { // logs in now
		log.Fatal(err)
	}
}

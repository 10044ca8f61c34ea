package lakebase_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
)

// A program's own pgxpool, sized and traced as it likes, logging in with
// lakelink's current credential.
func ExampleConfigurePool() {
	ctx := context.Background()
	o, err := connstr.Parse("Host=https://my-workspace.cloud.databricks.com;Instance=my-instance;" +
		"OAuthClientId=...;OAuthClientSecret=...")
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig("pool_max_conns=20")
	if err != nil {
		log.Fatal(err)
	}
	if err := lakebase.ConfigurePool(ctx, cfg, o); err != nil {
		log.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		log.Fatal(err)
	}
}

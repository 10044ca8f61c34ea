// Command gofetch is the Go workload of `make bench`: fetch the fetch
// workload's rows through core's batch API (lakebase Result.NextBatch),
// through raw pgx, or through database/sql, and print {"seconds": ...,
// "check": ...}.
//
//	LAKELINK_BENCH_CONFIG='{...}' gofetch -impl lakelink|pgx|pgx-scan|sql-lakelink|sql-pgx [-format pickle] [-cpuprofile FILE]
//
// "pgx" reads each row's rows.Values(), the same Go values NextBatch
// encodes; "pgx-scan" scans into typed variables, the fastest pgx allows.
// "sql-lakelink" scans database/sql rows into typed variables through
// lakelink's driver (sql.Open("lakelink", connection string)),
// "sql-pgx" the same through pgx's stdlib driver with the password in the
// URL.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
	_ "github.com/lakelink/lakelink/core/lakebase/stdlib" // database/sql driver "lakelink"
)

// fetchSQL is bench/workloads.py's FETCH_SQL.
const fetchSQL = "SELECT g::int8, (g * 0.37)::float8, md5(g::text), " +
	"timestamptz '2024-01-01 00:00:00+00' + g * interval '1.234567 second', (g * 1.25)::numeric(12,2) " +
	"FROM generate_series(1, %d) AS g"

// batchRows is the rows per batch, as the Python binding asks.
const batchRows = 2000

type config struct {
	PgURL      string `json:"pg_url"`
	LakelinkPg string `json:"lakelink_pg"`
	Rows       int    `json:"rows"`
}

func main() {
	impl := flag.String("impl", "lakelink", "lakelink, pgx, pgx-scan, sql-lakelink or sql-pgx")
	format := flag.String("format", string(lakebase.DefaultFormat), "the batch format (lakelink)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var cfg config
	if err := json.Unmarshal([]byte(os.Getenv("LAKELINK_BENCH_CONFIG")), &cfg); err != nil {
		fail(fmt.Errorf("LAKELINK_BENCH_CONFIG: %w", err))
	}
	sql := fmt.Sprintf(fetchSQL, cfg.Rows)
	var (
		s     float64
		check any
		err   error
	)
	switch *impl {
	case "lakelink":
		s, check, err = viaBatches(cfg, sql, lakebase.Format(*format))
	case "pgx", "pgx-scan":
		s, check, err = viaPgx(cfg, sql, *impl == "pgx-scan")
	case "sql-lakelink":
		s, check, err = viaSQL("lakelink", cfg.LakelinkPg, sql)
	case "sql-pgx":
		s, check, err = viaSQL("pgx", cfg.PgURL, sql)
	default:
		err = fmt.Errorf("-impl %q: want lakelink, pgx, pgx-scan, sql-lakelink or sql-pgx", *impl)
	}
	if err != nil {
		fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"seconds": s, "check": check})
}

func viaBatches(cfg config, sql string, format lakebase.Format) (float64, any, error) {
	ctx := context.Background()
	o, err := connstr.Parse(cfg.LakelinkPg)
	if err != nil {
		return 0, nil, err
	}
	c, err := lakebase.Open(ctx, o)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	t := time.Now()
	r, err := c.Execute(ctx, sql)
	if err != nil {
		return 0, nil, err
	}
	batches, size := 0, 0
	for {
		b, err := r.NextBatch(format, batchRows)
		if err != nil {
			return 0, nil, err
		}
		if b == nil {
			break
		}
		batches++
		size += len(b)
	}
	s := time.Since(t).Seconds()
	if err := r.Close(); err != nil {
		return 0, nil, err
	}
	if batches == 0 || size == 0 {
		return 0, nil, fmt.Errorf("no batches")
	}
	return s, r.RowsAffected(), nil
}

func viaPgx(cfg config, sql string, scan bool) (float64, any, error) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, cfg.PgURL)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close(ctx)
	t := time.Now()
	rows, err := c.Query(ctx, sql)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var (
		id  int64
		f   float64
		txt string
		ts  time.Time
		num pgtype.Numeric
	)
	for rows.Next() {
		if scan {
			err = rows.Scan(&id, &f, &txt, &ts, &num)
		} else {
			_, err = rows.Values()
		}
		if err != nil {
			return 0, nil, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	return time.Since(t).Seconds(), n, nil
}

// viaSQL fetches through database/sql's driver, logged in before the
// clock starts, scanning each row into typed variables as a service does.
// The check sums what it read, so that both drivers must read the same.
func viaSQL(driver, dsn, query string) (float64, any, error) {
	ctx := context.Background()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return 0, nil, err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return 0, nil, err
	}
	t := time.Now()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var (
		n, ids, textBytes int64
		f, fs             float64
		id                int64
		txt, num          string
		ts                time.Time
		last              string
	)
	for rows.Next() {
		if err := rows.Scan(&id, &f, &txt, &ts, &num); err != nil {
			return 0, nil, err
		}
		n++
		ids += id
		fs += f
		textBytes += int64(len(txt))
		last = ts.UTC().Format(time.RFC3339Nano) + " " + num
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	s := time.Since(t).Seconds()
	return s, fmt.Sprintf("%d rows, ids %d, floats %.6g, text %d bytes, last %s", n, ids, fs, textBytes, last), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gofetch:", err)
	os.Exit(1)
}

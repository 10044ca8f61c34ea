// Command gofetch is the Go workload of `make bench`: fetch the fetch
// workload's rows through core's batch API (lakebase Result.NextBatch) or
// through raw pgx, and print {"seconds": ..., "check": ...}.
//
//	LAKELINK_BENCH_CONFIG='{...}' gofetch -impl lakelink|pgx|pgx-scan [-format pickle] [-cpuprofile FILE]
//
// "pgx" reads each row's rows.Values(), the same Go values NextBatch
// encodes; "pgx-scan" scans into typed variables, the fastest pgx allows.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
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
	impl := flag.String("impl", "lakelink", "lakelink, pgx or pgx-scan")
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
	default:
		err = fmt.Errorf("-impl %q: want lakelink, pgx or pgx-scan", *impl)
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

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gofetch:", err)
	os.Exit(1)
}

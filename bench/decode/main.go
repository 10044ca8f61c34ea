// Command decode generates the batches that bench/decode measures: one
// realistic batch of rows (10,000 by default) with mixed column types and
// NULLs, as pgx's rows.Values() returns them, encoded in every candidate
// format, written to a directory for the Python and Node decoders. It also
// times the Go encoder of each format and writes the figures to
// encode.json there.
//
//	go run ./bench/decode -out DIR [-rows 10000] [-reps 30]
//
// bench/decode/run.sh runs it and then the decoders; RESULTS.md holds the
// figures and the decision.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lakelink/lakelink/core/lakebase"
)

// columns of the batch: the bench issue's fetch workload (int8, float8,
// text, timestamptz, numeric) plus int4, bool and bytea.
var columns = []lakebase.Column{
	{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "int4"},
	{Name: "big", TypeOID: pgtype.Int8OID, TypeName: "int8"},
	{Name: "price", TypeOID: pgtype.Float8OID, TypeName: "float8"},
	{Name: "amount", TypeOID: pgtype.NumericOID, TypeName: "numeric"},
	{Name: "name", TypeOID: pgtype.TextOID, TypeName: "text"},
	{Name: "created", TypeOID: pgtype.TimestamptzOID, TypeName: "timestamptz"},
	{Name: "active", TypeOID: pgtype.BoolOID, TypeName: "bool"},
	{Name: "payload", TypeOID: pgtype.ByteaOID, TypeName: "bytea"},
}

var words = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike " +
	"november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu " +
	"Zürich café naïve Ελλάδα 東京 emoji🙂 São-Paulo Kraków")

// generate returns n rows as rows.Values() returns them for columns:
// int32, int64, float64, pgtype.Numeric, string, time.Time (in time.Local,
// as pgx returns timestamptz), bool, []byte; nil for NULL (5% to 20% per
// column, none in id).
func generate(n int) [][]any {
	r := rand.New(rand.NewPCG(1, 2))
	null := func(p float64) bool { return r.Float64() < p }
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	span := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() - base
	rows := make([][]any, n)
	for i := range rows {
		row := make([]any, len(columns))
		row[0] = int32(i + 1)
		if !null(0.05) {
			row[1] = r.Int64() >> r.IntN(40)
		}
		if !null(0.05) {
			row[2] = math.Round(r.NormFloat64()*1e6) / 100
		}
		if !null(0.05) {
			digits := r.Int64N(1e12)
			if r.IntN(20) == 0 { // now and then a long one
				digits = r.Int64()
			}
			row[3] = pgtype.Numeric{Int: big.NewInt(digits - 5e11), Exp: -2, Valid: true}
		}
		if !null(0.05) {
			var b strings.Builder
			for k := 2 + r.IntN(5); k > 0; k-- {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[r.IntN(len(words))])
			}
			row[4] = b.String()
		}
		if !null(0.05) {
			row[5] = time.UnixMicro(base + r.Int64N(span)).In(time.Local)
		}
		if !null(0.1) {
			row[6] = r.IntN(2) == 1
		}
		if !null(0.2) {
			b := make([]byte, 16+r.IntN(49))
			for k := range b {
				if r.IntN(8) != 0 { // about one byte in eight is zero
					b[k] = byte(r.UintN(256))
				}
			}
			row[7] = b
		}
		rows[i] = row
	}
	return rows
}

// encoders are the candidates: lakebase's two formats, and JSON (rows, or
// values grouped by column), which lakebase dropped after this
// measurement and which live on here (json.go) so that it can be rerun.
var encoders = []struct {
	name   string
	encode func(rows [][]any) ([]byte, error)
}{
	{"columnar", func(rows [][]any) ([]byte, error) {
		return lakebase.EncodeBatch(lakebase.FormatColumnar, columns, rows)
	}},
	{"pickle", func(rows [][]any) ([]byte, error) { return lakebase.EncodeBatch(lakebase.FormatPickle, columns, rows) }},
	{"json", func(rows [][]any) ([]byte, error) { return encodeJSON(rows, false) }},
	{"json-columns", func(rows [][]any) ([]byte, error) { return encodeJSON(rows, true) }},
}

// shapes are the batches measured: "mixed", every column above, and
// "fetch", the columns of the benchmark issue's 1M-row fetch workload.
var shapes = map[string][]int{
	"mixed": {0, 1, 2, 3, 4, 5, 6, 7},
	"fetch": {1, 2, 4, 5, 3}, // int8, float8, text, timestamptz, numeric
}

func main() {
	out := flag.String("out", "", "directory for the batches and encode.json (required)")
	n := flag.Int("rows", 10000, "rows per batch")
	reps := flag.Int("reps", 30, "encodings per format to time")
	shape := flag.String("shape", "mixed", `the columns: "mixed" (int4, int8, float8, numeric, text, timestamptz, bool, bytea) or "fetch" (int8, float8, text, timestamptz, numeric)`)
	flag.Parse()
	if *out == "" {
		log.Fatal("-out DIR is required")
	}
	pick, ok := shapes[*shape]
	if !ok {
		log.Fatalf("unknown -shape %q", *shape)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	rows := generate(*n)
	all := columns
	columns = nil
	for _, c := range pick {
		columns = append(columns, all[c])
	}
	for i, r := range rows {
		row := make([]any, len(pick))
		for j, c := range pick {
			row[j] = r[c]
		}
		rows[i] = row
	}
	type result struct {
		Format   string  `json:"format"`
		Bytes    int     `json:"bytes"`
		MedianMS float64 `json:"median_ms"`
		MinMS    float64 `json:"min_ms"`
		NSPerRow float64 `json:"ns_per_row"`
		Rows     int     `json:"rows"`
		Reps     int     `json:"reps"`
	}
	var results []result
	for _, e := range encoders {
		b, err := e.encode(rows)
		if err != nil {
			log.Fatalf("%s: %v", e.name, err)
		}
		if err := os.WriteFile(filepath.Join(*out, "batch."+e.name), b, 0o644); err != nil {
			log.Fatal(err)
		}
		times := make([]float64, *reps)
		for i := range times {
			start := time.Now()
			if _, err := e.encode(rows); err != nil {
				log.Fatal(err)
			}
			times[i] = float64(time.Since(start).Nanoseconds())
		}
		slices.Sort(times)
		med := times[len(times)/2]
		results = append(results, result{Format: e.name, Bytes: len(b), MedianMS: med / 1e6, MinMS: times[0] / 1e6,
			NSPerRow: med / float64(*n), Rows: *n, Reps: *reps})
		fmt.Printf("go     %-20s median %7.2f ms  min %7.2f ms  (%5.0f ns/row)  %8d bytes\n", e.name, med/1e6, times[0]/1e6, med/float64(*n), len(b))
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "encode.json"), b, 0o644); err != nil {
		log.Fatal(err)
	}
}

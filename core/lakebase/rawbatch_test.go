package lakebase

import (
	"bytes"
	"context"
	"testing"
)

// rawEdgeSQL is every type rawWire accepts, with each one's edge values and
// NULLs: rows of a VALUES list, the columns cast to their types.
const rawEdgeSQL = `SELECT b::bool, i2::int2, i4::int4, i8::int8, f4::float4, f8::float8, n::numeric, n2::numeric(12,2),
	t::text, v::varchar, c::char(5), nm::name, d::date, ts::timestamp, tz::timestamptz FROM (VALUES
	(true, -32768, -2147483648, -9223372036854775808, 0.1, 0.37, 0, 0.5, '', 'é', 'ab', 'n', '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00'),
	(false, 32767, 2147483647, 9223372036854775807, 3.4e38, -0.0, -0.00, -1.25, 'héllo wörld', 'x', 'abcde', 'pg_class', '1999-12-31', '1999-12-31 23:59:59.999999', '2024-01-01 12:34:56.789012+05'),
	(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(true, 0, 0, 0, '-Infinity', 'NaN', 'NaN', 'NaN', repeat('long ', 2000), '', '', '', 'infinity', 'infinity', 'infinity'),
	(false, -1, -1, -1, 'NaN', 'Infinity', 'Infinity', 'NaN', 'tab	newline
end', 'v', 'z', 'z', '-infinity', '-infinity', '-infinity'),
	(true, 1, 1, 1, 1.17549435e-38, 1e308, '-Infinity', -0.5, '😀', 'v', 'q', 'q', '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC'),
	(true, 2, 2, 2, 1, 5e-324, 123456789012345678901234567890.123456789, 9999999999.99, 't', 'v', 'q', 'q', '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00'),
	(NULL, 3, NULL, 3, NULL, 2, 0.000000001, 0.01, NULL, 'v', NULL, 'q', NULL, '2024-02-29 01:02:03', NULL),
	(false, 4, 4, NULL, 2, NULL, 10000, 10000, 't', NULL, 'q', NULL, '2024-02-29', NULL, '1970-01-01 00:00:00+00'),
	(true, 5, 5, 5, 3, 3, -0.0001, -0.01, 't', 'v', 'q', 'q', '0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00'),
	(true, 6, 6, 6, 4, 4, 1e20, 12.3, 't', 'v', 'q', 'q', '1970-01-01', '1970-01-01 00:00:00', '1969-12-31 23:59:59.5+00'),
	(true, 7, 7, 7, 5, 5, 9999.9999, 100, 't', 'v', 'q', 'q', '2038-01-19', '2038-01-19 03:14:08', '2038-01-19 03:14:08+00'),
	(true, 8, 8, 8, 6, 6, -123.456e-10, 0, 't', 'v', 'q', 'q', '2000-02-29', '2000-02-29 12:00:00', '2000-02-29 12:00:00+00')
) AS v(b, i2, i4, i8, f4, f8, n, n2, t, v, c, nm, d, ts, tz)`

// TestRawBatchesMatchValueBatches: a columnar batch encoded from the wire
// values is, byte for byte, the batch encoded from pgx's Values, for every
// type the wire path takes, edge values and NULLs included, as prepared
// statements (binary results) and in batches of several sizes.
func TestRawBatchesMatchValueBatches(t *testing.T) {
	c := typesConn(t, true)
	cols, rows := query(t, c, rawEdgeSQL)
	p := directPool(t)
	ctx := context.Background()
	for _, size := range []int{1, 4, 1000} {
		conn, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.c.Exec(ctx, "SET TimeZone = 'UTC'"); err != nil {
			t.Fatal(err)
		}
		r, err := conn.Execute(ctx, rawEdgeSQL)
		if err != nil {
			t.Fatal(err)
		}
		if !r.raw {
			t.Fatalf("the result does not take the wire path; formats %v", formats(r))
		}
		var batches [][]byte // all read before any is checked: a batch must not share memory with the next
		for {
			b, err := r.NextBatch(FormatColumnar, size)
			if err != nil {
				t.Fatal(err)
			}
			if b == nil {
				break
			}
			batches = append(batches, b)
		}
		if want := (len(rows) + size - 1) / size; len(batches) != want {
			t.Fatalf("batches of %d: %d batches, want %d", size, len(batches), want)
		}
		for i, got := range batches {
			at := i * size
			want, err := EncodeBatch(FormatColumnar, cols, rows[at:min(at+size, len(rows))])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				gd, _ := decodeColumnar(got)
				wd, _ := decodeColumnar(want)
				t.Fatalf("batches of %d from row %d: the wire path gives\n%v\nValues give\n%v", size, at, gd.rows, wd.rows)
			}
		}
		r.Close()
	}
}

// TestRawPathOnlyForTableTypes: a result with a column the wire path does
// not convert (a uuid here) is encoded from Values, whole.
func TestRawPathOnlyForTableTypes(t *testing.T) {
	p := directPool(t)
	r, err := p.Query(context.Background(), "SELECT 1::int8, gen_random_uuid()")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.raw {
		t.Fatal("a uuid column takes the wire path")
	}
	b, err := r.NextBatch(FormatColumnar, 10)
	if err != nil || batchRows(t, b) != 1 {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
}

func formats(r *Result) []int16 {
	var f []int16
	for _, d := range r.rows.FieldDescriptions() {
		f = append(f, d.Format)
	}
	return f
}

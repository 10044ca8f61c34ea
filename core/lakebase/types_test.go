package lakebase

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// typesConn connects to the emulator's PostgreSQL directly (not through
// the gateway) with pgx, its type map configured by ConfigureTypeMap or
// left as pgx's default.
func typesConn(t *testing.T, configure bool) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testEmulator.Info().Lakebase.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	if _, err := c.Exec(ctx, "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	if configure {
		ConfigureTypeMap(c.TypeMap())
	}
	return c
}

// query runs sql and returns its columns and every row's Values().
func query(t *testing.T, c *pgx.Conn, sql string, args ...any) ([]Column, [][]any) {
	t.Helper()
	rows, err := c.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	cols := Columns(rows.FieldDescriptions(), c.TypeMap())
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return cols, out
}

// TestTypesDocumented checks that TYPES.md has a row for every type of
// the table: "| name | OID | array OID |".
func TestTypesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../TYPES.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range typeTable {
		row := fmt.Sprintf("| %s | %d | %d |", tt.name, tt.oid, tt.arrayOID)
		if !bytes.Contains(doc, []byte(row)) {
			t.Errorf("TYPES.md has no row starting %q", row)
		}
	}
	for k := kindText; k <= kindArray; k++ {
		if !bytes.Contains(doc, []byte(fmt.Sprintf("| %d | %s |", k, k))) {
			t.Errorf("TYPES.md does not list kind %d %s as \"| %d | %s |\"", k, k, k, k)
		}
	}
}

func TestColumns(t *testing.T) {
	c := typesConn(t, true)
	ctx := context.Background()
	if _, err := c.Exec(ctx, "DROP TYPE IF EXISTS lakelink_mood; CREATE TYPE lakelink_mood AS ENUM ('ok', 'meh')"); err != nil {
		t.Fatal(err)
	}
	cols, rows := query(t, c, "SELECT 1::int4 AS a, '{x}'::text[] AS b, 'ok'::lakelink_mood AS mood, '10.0.0.1'::inet, 2")
	want := []Column{{"a", pgtype.Int4OID, "int4"}, {"b", pgtype.TextArrayOID, "_text"}, {"mood", cols[2].TypeOID, ""},
		{"inet", pgtype.InetOID, "inet"}, {"?column?", pgtype.Int4OID, "int4"}}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("Columns:\n%+v\nwant\n%+v", cols, want)
	}
	// Types outside the table come as their text form, in both formats.
	b, err := EncodeBatch(FormatColumnar, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeColumnar(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.rows[0][2:4]; !reflect.DeepEqual(got, []any{"ok", "10.0.0.1/32"}) || d.kinds[2] != kindText || d.kinds[3] != kindText {
		t.Errorf("enum and inet: %#v (kinds %v)", got, d.kinds)
	}
}

// jsonText is an expected JSON value (json and arrays), compared as
// decoded with json.Number.
type jsonText string

func decodeJSONNumber(s string) any {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic(fmt.Sprintf("%q: %v", s, err))
	}
	return v
}

// sameValue compares a decoded columnar value with an expected one.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && (math.Float64bits(g) == math.Float64bits(w) || math.IsNaN(g) && math.IsNaN(w))
	case jsonText:
		if doc, ok := got.(jsonDoc); ok {
			got = doc.V
		} else if got == nil {
			return false // SQL NULL
		}
		return reflect.DeepEqual(got, decodeJSONNumber(string(w)))
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return reflect.DeepEqual(got, want)
}

// rtCase is a value that goes to PostgreSQL as a parameter (cast to typ)
// and comes back as a result.
type rtCase struct {
	typ   string // the SQL type of $1
	param pv     // as a binding encodes it
	want  any    // decoded from a columnar batch (see columnarBatch); jsonText for json and arrays
	py    string // repr() of the value Python unpickles, or "error: " and part of EncodeBatch's error
	// dflt is want with pgx's default type map, where that differs (JSON
	// numbers through float64, flattened arrays); hasDflt says it is set.
	dflt    any
	hasDflt bool
}

var testUUID = [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}

func roundTripCases() []rtCase {
	ts := micros(time.Date(2020, 1, 2, 3, 4, 5, 678901000, time.UTC))
	tsPy := "datetime.datetime(2020, 1, 2, 3, 4, 5, 678901"
	cases := []rtCase{
		{typ: "bool", param: pBool(true), want: true, py: "True"},
		{typ: "bool", param: pBool(false), want: false, py: "False"},
		{typ: "int2", param: pInt(-32768), want: int32(-32768), py: "-32768"},
		{typ: "int2", param: pInt32(32767), want: int32(32767), py: "32767"},
		{typ: "int4", param: pInt(math.MaxInt32), want: int32(math.MaxInt32), py: "2147483647"},
		{typ: "int4", param: pText("42"), want: int32(42), py: "42"},
		{typ: "int8", param: pInt(math.MinInt64), want: int64(math.MinInt64), py: "-9223372036854775808"},
		{typ: "int8", param: pInt(math.MaxInt64), want: int64(math.MaxInt64), py: "9223372036854775807"},
		{typ: "float4", param: pFloat(0.1), want: 0.1, py: "0.1"},
		{typ: "float4", param: pFloat(math.Inf(1)), want: math.Inf(1), py: "inf"},
		{typ: "float4", param: pFloat(3.4028235e38), want: 3.4028235e38, py: "3.4028235e+38"},
		{typ: "float8", param: pFloat(0.1), want: 0.1, py: "0.1"},
		{typ: "float8", param: pFloat(math.NaN()), want: math.NaN(), py: "nan"},
		{typ: "float8", param: pFloat(math.Inf(-1)), want: math.Inf(-1), py: "-inf"},
		{typ: "float8", param: pFloat(math.Copysign(0, -1)), want: math.Copysign(0, -1), py: "-0.0"},
		{typ: "float8", param: pFloat(5e-324), want: 5e-324, py: "5e-324"},
		{typ: "float8", param: pFloat(math.MaxFloat64), want: math.MaxFloat64, py: "1.7976931348623157e+308"},
		{typ: "float8", param: pInt(3), want: 3.0, py: "3.0"},
		{typ: "numeric", param: pNum("1.50"), want: "1.50", py: "Decimal('1.50')"},
		{typ: "numeric", param: pNum("1234567890123456789012345678901234567890"), want: "1234567890123456789012345678901234567890", py: "Decimal('1234567890123456789012345678901234567890')"},
		{typ: "numeric", param: pNum("-12345678901234567890.12345678901234567890"), want: "-12345678901234567890.12345678901234567890", py: "Decimal('-12345678901234567890.12345678901234567890')"},
		{typ: "numeric", param: pNum("0.0000000000000000000000000000000000000001"), want: "0.0000000000000000000000000000000000000001", py: "Decimal('1E-40')"},
		{typ: "numeric", param: pNum("1E+3"), want: "1000", py: "Decimal('1000')"},
		{typ: "numeric", param: pNum("NaN"), want: "NaN", py: "Decimal('NaN')"},
		{typ: "numeric", param: pNum("Infinity"), want: "Infinity", py: "Decimal('Infinity')"},
		{typ: "numeric", param: pNum("-Infinity"), want: "-Infinity", py: "Decimal('-Infinity')"},
		{typ: "numeric", param: pInt(42), want: "42", py: "Decimal('42')"},
		{typ: "numeric", param: pFloat(0.1), want: "0.1", py: "Decimal('0.1')"},
		{typ: "numeric(10,2)", param: pNum("3.14159"), want: "3.14", py: "Decimal('3.14')"},
		{typ: "text", param: pText(""), want: "", py: "''"},
		{typ: "text", param: pText("héllo 🙂 東京 e\u0301"), want: "héllo 🙂 東京 e\u0301", py: "'héllo 🙂 東京 e\u0301'"},
		{typ: "text", param: pText("quote\" back\\ nl\n tab\t"), want: "quote\" back\\ nl\n tab\t", py: `'quote" back\\ nl\n tab\t'`},
		{typ: "text", param: pInt(42), want: "42", py: "'42'"},
		{typ: "text", param: pBytes(0, 1), want: `\x0001`, py: `'\\x0001'`},
		{typ: "varchar(5)", param: pText("abc"), want: "abc", py: "'abc'"},
		{typ: "char(3)", param: pText("a"), want: "a  ", py: "'a  '"},
		{typ: "name", param: pText("pg_class"), want: "pg_class", py: "'pg_class'"},
		{typ: "bytea", param: pBytes(0, 1, 0, 255), want: []byte{0, 1, 0, 255}, py: `b'\x00\x01\x00\xff'`},
		{typ: "bytea", param: pBytes(), want: []byte{}, py: "b''"},
		{typ: "date", param: pDays(days(2020, 1, 2)), want: days(2020, 1, 2), py: "datetime.date(2020, 1, 2)"},
		{typ: "date", param: pDays(days(1, 1, 1)), want: days(1, 1, 1), py: "datetime.date(1, 1, 1)"},
		{typ: "date", param: pDays(days(9999, 12, 31)), want: days(9999, 12, 31), py: "datetime.date(9999, 12, 31)"},
		{typ: "date", param: pDays(days(-43, 3, 15)), want: days(-43, 3, 15), py: "error: a date in 44 BC"},
		{typ: "date", param: pDays(days(-4712, 1, 1)), want: days(-4712, 1, 1), py: "error: a date in 4713 BC"},
		{typ: "date", param: pDays(days(5874897, 12, 31)), want: days(5874897, 12, 31), py: "error: a date in year 5874897"},
		{typ: "date", param: pDays(math.MaxInt32), want: int32(math.MaxInt32), py: "error: date ±infinity"},
		{typ: "date", param: pDays(math.MinInt32), want: int32(math.MinInt32), py: "error: date ±infinity"},
		{typ: "time", param: pTime(clock(12, 34, 56, 789000)), want: clock(12, 34, 56, 789000), py: "datetime.time(12, 34, 56, 789000)"},
		{typ: "time", param: pTime(0), want: int64(0), py: "datetime.time(0, 0)"},
		{typ: "time", param: pTime(clock(23, 59, 59, 999999)), want: clock(23, 59, 59, 999999), py: "datetime.time(23, 59, 59, 999999)"},
		{typ: "time", param: pTime(clock(24, 0, 0, 0)), want: clock(24, 0, 0, 0), py: "error: time of day 24:00:00"},
		{typ: "timestamp", param: pTS(ts), want: ts, py: tsPy + ")"},
		{typ: "timestamp", param: pTS(-1), want: int64(-1), py: "datetime.datetime(1999, 12, 31, 23, 59, 59, 999999)"},
		{typ: "timestamp", param: pTS(micros(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))), want: micros(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), py: "datetime.datetime(1, 1, 1, 0, 0)"},
		{typ: "timestamp", param: pTS(micros(time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC))), want: micros(time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)), py: "error: a timestamp in 44 BC"},
		{typ: "timestamp", param: pTS(math.MaxInt64), want: int64(math.MaxInt64), py: "error: timestamp ±infinity"},
		{typ: "timestamptz", param: pTSTZ(ts), want: ts, py: tsPy + ", tzinfo=datetime.timezone.utc)"},
		{typ: "timestamptz", param: pTSTZ(math.MinInt64), want: int64(math.MinInt64), py: "error: timestamp ±infinity"},
		{typ: "timestamptz", param: pDays(days(2020, 1, 2)), want: micros(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)), py: "datetime.datetime(2020, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)"},
		{typ: "interval", param: pInterval(1, 2, 3000004), want: [3]int64{1, 2, 3000004}, py: "datetime.timedelta(days=32, seconds=3, microseconds=4)"},
		{typ: "interval", param: pInterval(-14, -3, -4000000), want: [3]int64{-14, -3, -4000000}, py: "datetime.timedelta(days=-424, seconds=86396)"},
		{typ: "interval", param: pInterval(0, 0, 0), want: [3]int64{0, 0, 0}, py: "datetime.timedelta(0)"},
		{typ: "interval", param: pInterval(178000000*12, 0, 0), want: [3]int64{178000000 * 12, 0, 0}, py: "error: an interval beyond ±999,999,999 days"},
		{typ: "uuid", param: pUUID(testUUID), want: testUUID, py: "UUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')"},
		{typ: "uuid", param: pText("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), want: testUUID, py: "UUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')"},
		{typ: "json", param: pJSON(`{"a": 12345678901234567890, "b": null, "c": [1.5, "x"]}`), want: jsonText(`{"a": 12345678901234567890, "b": null, "c": [1.5, "x"]}`),
			py: "{'a': 12345678901234567890, 'b': None, 'c': [1.5, 'x']}", dflt: jsonText(`{"a": 12345678901234567000, "b": null, "c": [1.5, "x"]}`), hasDflt: true},
		{typ: "jsonb", param: pJSON(`[1, "two", {"three": 3.0}]`), want: jsonText(`[1, "two", {"three": 3.0}]`), py: "[1, 'two', {'three': 3.0}]",
			dflt: jsonText(`[1, "two", {"three": 3}]`), hasDflt: true},
		{typ: "jsonb", param: pJSON(`null`), want: jsonText(`null`), py: "None", dflt: nil, hasDflt: true}, // the default map turns it into SQL NULL
		{typ: "json", param: pText(`{"t": true}`), want: jsonText(`{"t": true}`), py: "{'t': True}"},
		{typ: "int4[]", param: pArr(pInt(1), pNull, pInt(3)), want: jsonText("[1,null,3]"), py: "[1, None, 3]"},
		{typ: "int4[]", param: pArr(), want: jsonText("[]"), py: "[]"},
		{typ: "int4[]", param: pArr(pArr(pInt(1), pInt(2)), pArr(pInt(3), pInt(4))), want: jsonText("[[1,2],[3,4]]"), py: "[[1, 2], [3, 4]]",
			dflt: jsonText("[1,2,3,4]"), hasDflt: true},
		{typ: "int2[]", param: pArr(pInt(-1)), want: jsonText("[-1]"), py: "[-1]"},
		{typ: "int8[]", param: pArr(pInt(math.MaxInt64), pNull), want: jsonText(`["9223372036854775807",null]`), py: "[9223372036854775807, None]"},
		{typ: "float4[]", param: pArr(pFloat(0.1)), want: jsonText("[0.1]"), py: "[0.1]"},
		{typ: "float8[]", param: pArr(pFloat(math.NaN()), pFloat(math.Inf(1)), pFloat(-1.5)), want: jsonText(`["NaN","Infinity",-1.5]`), py: "[nan, inf, -1.5]"},
		{typ: "numeric[]", param: pArr(pNum("1.50"), pNull, pNum("NaN")), want: jsonText(`["1.50",null,"NaN"]`), py: "[Decimal('1.50'), None, Decimal('NaN')]"},
		{typ: "text[]", param: pArr(pText("a,b"), pText(""), pNull, pText(`q"u\o{t}e`), pText("NULL")), want: jsonText(`["a,b","",null,"q\"u\\o{t}e","NULL"]`), py: `['a,b', '', None, 'q"u\\o{t}e', 'NULL']`},
		{typ: "text[]", param: pArr(pArr(pText("a")), pArr(pText("b"))), want: jsonText(`[["a"],["b"]]`), py: "[['a'], ['b']]", dflt: jsonText(`["a","b"]`), hasDflt: true},
		{typ: "varchar[]", param: pArr(pText("x")), want: jsonText(`["x"]`), py: "['x']"},
		{typ: "char(2)[]", param: pArr(pText("a")), want: jsonText(`["a "]`), py: "['a ']"},
		{typ: "name[]", param: pArr(pText("n")), want: jsonText(`["n"]`), py: "['n']"},
		{typ: "bool[]", param: pArr(pBool(true), pNull), want: jsonText("[true,null]"), py: "[True, None]"},
		{typ: "bytea[]", param: pArr(pBytes(0, 1), pBytes()), want: jsonText(`["AAE=",""]`), py: `[b'\x00\x01', b'']`},
		{typ: "date[]", param: pArr(pDays(days(2020, 1, 2))), want: jsonText("[7306]"), py: "[datetime.date(2020, 1, 2)]"},
		{typ: "date[]", param: pArr(pDays(days(2020, 1, 2)), pDays(math.MaxInt32)), want: jsonText(`[7306,"infinity"]`), py: "error: element 1: date ±infinity"},
		{typ: "time[]", param: pArr(pTime(clock(1, 2, 3, 4))), want: jsonText("[3723000004]"), py: "[datetime.time(1, 2, 3, 4)]"},
		{typ: "timestamp[]", param: pArr(pTS(ts), pTS(math.MinInt64)), want: jsonText(fmt.Sprintf(`[%d,"-infinity"]`, ts)), py: "error: element 1: timestamp ±infinity"},
		{typ: "timestamptz[]", param: pArr(pTSTZ(ts)), want: jsonText(fmt.Sprintf(`[%d]`, ts)), py: "[" + tsPy + ", tzinfo=datetime.timezone.utc)]"},
		{typ: "interval[]", param: pArr(pInterval(1, 2, 3)), want: jsonText("[[1,2,3]]"), py: "[datetime.timedelta(days=32, microseconds=3)]"},
		{typ: "uuid[]", param: pArr(pUUID(testUUID)), want: jsonText(`["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`), py: "[UUID('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')]"},
		{typ: "json[]", param: pArr(pJSON(`{"a":1}`), pNull), want: jsonText(`[[{"a":1}],null]`), py: "[{'a': 1}, None]"},
		{typ: "jsonb[]", param: pArr(pJSON(`"s"`), pJSON("null")), want: jsonText(`[["s"],[null]]`), py: "['s', None]", dflt: jsonText(`[["s"],null]`), hasDflt: true},
	}
	for _, tt := range typeTable { // NULL of every type and array type
		cases = append(cases, rtCase{typ: tt.name, param: pNull, want: nil, py: "None"},
			rtCase{typ: tt.name + "[]", param: pNull, want: nil, py: "None"})
	}
	return cases
}

// pythonCheck is a pickle batch to be decoded by Python, and what repr()
// of its single value must be.
type pythonCheck struct {
	what  string
	batch []byte
	repr  string
}

// TestRoundTrip sends every case as a parameter (through DecodeParams),
// reads it back with rows.Values() with both type maps, encodes it in both
// formats and decodes the columnar batch with the decoder written from
// TYPES.md; TestPythonDecodesPickleBatches has Python decode the pickles.
// Each value also goes through a table column of its type, the
// placeholder's type then being inferred by the server.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, configure := range []bool{true, false} {
		c := typesConn(t, configure)
		for i, tc := range roundTripCases() {
			name := fmt.Sprintf("configured=%v/%d %s %v", configure, i, tc.typ, tc.param.v)
			params, err := DecodeParams(FormatColumnar, encodeParams(tc.param))
			if err != nil {
				t.Errorf("%s: DecodeParams: %v", name, err)
				continue
			}
			want := tc.want
			if !configure && tc.hasDflt {
				want = tc.dflt
			}
			cols, rows := query(t, c, "SELECT $1::"+tc.typ+" AS v", params...)
			checkRoundTrip(t, name, cols, rows, want, tc.py, configure)

			// The same value in a column of that type, no cast.
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			table := fmt.Sprintf("rt%d", i) // a name per type: pgx caches statements by their text
			if _, err := tx.Exec(ctx, "CREATE TEMP TABLE "+table+" (v "+tc.typ+") ON COMMIT DROP"); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" VALUES ($1)", params...); err != nil {
				t.Errorf("%s: INSERT: %v", name, err)
			} else {
				rows, err := tx.Query(ctx, "SELECT v FROM "+table)
				if err != nil {
					t.Fatal(err)
				}
				cols := Columns(rows.FieldDescriptions(), c.TypeMap())
				rows.Next()
				v, err := rows.Values()
				rows.Close()
				if err != nil {
					t.Fatal(err)
				}
				checkRoundTrip(t, name+" (column)", cols, [][]any{v}, want, tc.py, false)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var pythonChecks []pythonCheck

func checkRoundTrip(t *testing.T, name string, cols []Column, rows [][]any, want any, py string, forPython bool) {
	t.Helper()
	b, err := EncodeBatch(FormatColumnar, cols, rows)
	if err != nil {
		t.Errorf("%s: EncodeBatch(columnar): %v", name, err)
		return
	}
	d, err := decodeColumnar(b)
	if err != nil {
		t.Errorf("%s: decoding the columnar batch: %v", name, err)
		return
	}
	if k, _ := kindsOf(cols[0].TypeOID); d.kinds[0] != k {
		t.Errorf("%s: kind %v, want %v", name, d.kinds[0], k)
	}
	if got := d.rows[0][0]; !sameValue(got, want) {
		t.Errorf("%s: got %T %#v, want %#v (Values() gave %T %#v)", name, got, got, want, rows[0][0], rows[0][0])
	}
	p, err := EncodeBatch(FormatPickle, cols, rows)
	if wantErr, isErr := strings.CutPrefix(py, "error: "); isErr {
		if err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), "cast the column to text") {
			t.Errorf("%s: EncodeBatch(pickle): %v, want an error about %q", name, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: EncodeBatch(pickle): %v", name, err)
		return
	}
	if n, err := checkPickle(p); err != nil || n != 1 {
		t.Errorf("%s: pickle batch: %d rows, %v", name, n, err)
	}
	if forPython {
		pythonChecks = append(pythonChecks, pythonCheck{name, p, py})
	}
}

// TestTimeZones checks that timestamptz values keep their instant whatever
// the session's TimeZone, and what a timestamp without zone becomes.
func TestTimeZones(t *testing.T) {
	ctx := context.Background()
	c := typesConn(t, true)
	instant := time.Date(2024, 7, 1, 6, 30, 0, 123456000, time.UTC)
	naive := micros(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tz := range []struct {
		name, offset string // the zone, and its offset in July 2024 as PostgreSQL prints it
		winter       time.Duration
	}{{"UTC", "+00", 0}, {"Asia/Kolkata", "+05:30", 5*time.Hour + 30*time.Minute}, {"America/St_Johns", "-02:30", -(3*time.Hour + 30*time.Minute)}} {
		if _, err := c.Exec(ctx, "SET TimeZone = '"+tz.name+"'"); err != nil {
			t.Fatal(err)
		}
		params, err := DecodeParams(FormatColumnar, encodeParams(pTSTZ(micros(instant)), pTS(naive)))
		if err != nil {
			t.Fatal(err)
		}
		cols, rows := query(t, c, `SELECT $1::timestamptz, $1::timestamptz::text, '2024-07-01 12:00:00.123456+05:30'::timestamptz,
			$2::timestamp::timestamptz, $2::timestamp`, params...)
		b, err := EncodeBatch(FormatColumnar, cols, rows)
		if err != nil {
			t.Fatal(err)
		}
		d, err := decodeColumnar(b)
		if err != nil {
			t.Fatal(err)
		}
		got := d.rows[0]
		if got[0] != micros(instant) || got[2] != micros(instant) {
			t.Errorf("TimeZone %s: instants %v and %v, want %v", tz.name, got[0], got[2], micros(instant))
		}
		if want := "2024-07-01 " + instant.Add(map[string]time.Duration{"+00": 0, "+05:30": 5*time.Hour + 30*time.Minute, "-02:30": -(2*time.Hour + 30*time.Minute)}[tz.offset]).Format("15:04:05.000000") + tz.offset; got[1] != want {
			t.Errorf("TimeZone %s: text %q, want %q", tz.name, got[1], want)
		}
		// A timestamp without zone becomes a timestamptz in the session's zone;
		// the timestamp itself is its wall clock, whatever the zone.
		if want := naive - tz.winter.Microseconds(); got[3] != want {
			t.Errorf("TimeZone %s: timestamp as timestamptz %v, want %v", tz.name, got[3], want)
		}
		if got[4] != naive {
			t.Errorf("TimeZone %s: timestamp %v, want %v", tz.name, got[4], naive)
		}
	}
}

// TestManyRows encodes a batch of a thousand rows with NULLs scattered in
// every column and compares the columnar decoding with PostgreSQL's own
// text of each value.
func TestManyRows(t *testing.T) {
	c := typesConn(t, true)
	const sql = `SELECT CASE WHEN g % 3 = 0 THEN NULL ELSE g END::int8,
		CASE WHEN g % 5 = 0 THEN NULL ELSE (g * 1.25)::numeric(12,2) END,
		CASE WHEN g % 7 = 0 THEN NULL WHEN g % 7 = 1 THEN '' ELSE repeat(chr(945 + g % 20), g % 13) END,
		CASE WHEN g % 11 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0'), 'hex') END,
		CASE WHEN g % 2 = 0 THEN NULL ELSE g % 4 = 1 END
		FROM generate_series(1, 1000) AS g`
	cols, rows := query(t, c, sql)
	_, texts := query(t, c, "SELECT v1::text, v2::text, v3, v4::text, v5::text FROM ("+sql+") AS s(v1, v2, v3, v4, v5)")
	b, err := EncodeBatch(FormatColumnar, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeColumnar(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range d.rows {
		for j, v := range row {
			var got any
			switch x := v.(type) {
			case nil:
			case int64:
				got = fmt.Sprint(x)
			case []byte:
				got = `\x` + fmt.Sprintf("%x", x)
			case bool:
				got = map[bool]string{true: "true", false: "false"}[x]
			default:
				got = x
			}
			if want := texts[i][j]; !reflect.DeepEqual(got, want) {
				t.Fatalf("row %d column %d: %#v, want %#v", i, j, got, want)
			}
		}
	}
	p, err := EncodeBatch(FormatPickle, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := checkPickle(p); err != nil || n != 1000 {
		t.Fatalf("pickle: %d rows, %v", n, err)
	}
	reprs := runPython(t, [][]byte{p})
	if r := reprs[0]; len(r) != 1000 || r[3][0] != "4" || r[3][1] != "Decimal('5.00')" || r[3][4] != "None" || r[4][1] != "None" || r[4][4] != "True" {
		t.Errorf("Python: %d rows; row 3 %v; row 4 %v", len(r), r[3], r[4])
	}
}

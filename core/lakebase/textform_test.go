package lakebase

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestTextForms: values of types outside the table come as PostgreSQL
// prints them (their ::text), through Values and both batch formats'
// paths, in the extended and the simple query protocol.
func TestTextForms(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "DROP TYPE IF EXISTS textform_mood; CREATE TYPE textform_mood AS ENUM ('ok', 'meh')")
	exprs := []string{
		"'10.0.0.1'::inet", "'10.0.0.0/8'::inet", "'10.0.0.0/8'::cidr", "'::1'::inet", "'{10.0.0.1,::1/128}'::inet[]",
		`''::"char"`, `'a'::"char"`, "'[1,10)'::int4range", "'(,5]'::int8range", "'empty'::numrange",
		"'[2024-01-01,2024-02-01)'::daterange", "tstzrange('2024-01-01 00:00+00', NULL)", "'{[1,2), [5,6)}'::int4multirange",
		"ROW(1, 'a b', NULL)", "'(1,2)'::point", "12.5::money", "'ok'::textform_mood", "'08:00:2b:01:02:03'::macaddr",
		"B'101'", "'<a/>'::xml", "'1'::oid", "'a b'::tsvector", "'12:34:56+02'::timetz",
	}
	var sel []string
	for _, e := range exprs {
		want := "(" + e + ")::text"
		if strings.HasSuffix(e, "::inet") { // inet's text() adds the /32 its output leaves out
			want = "abbrev(" + e + ")"
		}
		sel = append(sel, e, want)
	}
	query := "SELECT " + strings.Join(sel, ", ")
	for _, args := range [][]any{{}, {1}} {
		sql := query
		if len(args) > 0 {
			sql += " WHERE 1 = $1"
		} else {
			sql += "; SELECT " + strings.Join(sel, ", ") // several statements: the simple query protocol
		}
		r, err := c.Execute(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Next() {
			t.Fatal("no row", r.Err())
		}
		v, err := r.Values()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		for i, e := range exprs {
			if s, ok := v[2*i].(string); !ok || s != v[2*i+1] {
				t.Errorf("%d args: Values %s: %#v, want %q", len(args), e, v[2*i], v[2*i+1])
			}
		}
		for _, format := range []Format{FormatColumnar, FormatPickle} {
			r, err := c.Execute(ctx, sql, args...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := r.NextBatch(format, 10)
			r.Close()
			if err != nil {
				t.Fatal(format, err)
			}
			if format != FormatColumnar {
				continue // pickle: the Python binding's tests read it (test_types.py)
			}
			d, err := decodeColumnar(b)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range exprs {
				if got, want := d.rows[0][2*i], d.rows[0][2*i+1]; fmt.Sprint(got) != fmt.Sprint(want) || d.kinds[2*i] != kindText {
					t.Errorf("%d args: columnar %s: %#v (kind %v), want %q", len(args), e, got, d.kinds[2*i], want)
				}
			}
		}
	}
}

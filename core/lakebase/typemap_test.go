package lakebase

import (
	"encoding/json"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// This file pins the values pgx returns, with its default type map and
// with ConfigureTypeMap.

// TestValuesOfPgxDefaultMap pins what pgx's rows.Values() returns for each
// type with the default type map, and with ConfigureTypeMap: the Go types
// TYPES.md lists and EncodeBatch accepts. A pgx upgrade that changes one
// fails here.
func TestValuesOfPgxDefaultMap(t *testing.T) {
	utc := func(y int, m time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, m, d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		sql        string
		want       any
		configured any // with ConfigureTypeMap, when it differs
	}{
		{"true", true, nil},
		{"1::int2", int16(1), nil},
		{"1::int4", int32(1), nil},
		{"1::int8", int64(1), nil},
		{"0.1::float4", float32(0.1), nil},
		{"0.1::float8", 0.1, nil},
		{"1.50::numeric", pgtype.Numeric{Int: big.NewInt(150), Exp: -2, Valid: true}, nil},
		{"'NaN'::numeric", pgtype.Numeric{NaN: true, Valid: true}, nil},
		{"'-Infinity'::numeric", pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, nil},
		{"'a'::text", "a", nil},
		{"'a'::varchar", "a", nil},
		{"'a'::char(2)", "a ", nil},
		{"'a'::name", "a", nil},
		{`'\x00ff'::bytea`, []byte{0, 255}, nil},
		{"'2020-01-02'::date", utc(2020, 1, 2, 0, 0, 0, 0), nil},
		{"'0044-03-15 BC'::date", utc(-43, 3, 15, 0, 0, 0, 0), nil},
		{"'infinity'::date", pgtype.Infinity, nil},
		{"'12:34:56.789'::time", pgtype.Time{Microseconds: 45296789000, Valid: true}, nil},
		{"'2020-01-02 03:04:05.678901'::timestamp", utc(2020, 1, 2, 3, 4, 5, 678901000), nil},
		{"'-infinity'::timestamp", pgtype.NegativeInfinity, nil},
		{"'2020-01-02 03:04:05.678901+05:30'::timestamptz", utc(2020, 1, 1, 21, 34, 5, 678901000).In(time.Local), nil},
		{"'1 year 2 mons 3 days 00:00:04'::interval", pgtype.Interval{Months: 14, Days: 3, Microseconds: 4000000, Valid: true}, nil},
		{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}, nil},
		{`'{"a": 12345678901234567890}'::json`, map[string]any{"a": 1.2345678901234567e19}, json.RawMessage(`{"a": 12345678901234567890}`)},
		{`'{"a":1}'::jsonb`, map[string]any{"a": 1.0}, json.RawMessage(`{"a": 1}`)},
		{`'null'::jsonb`, nil, json.RawMessage(`null`)},
		{"'{1,NULL,3}'::int4[]", []any{int32(1), nil, int32(3)}, nil},
		{"'{}'::int4[]", []any{}, nil},
		{"'{{1,2},{3,4}}'::int4[]", []any{int32(1), int32(2), int32(3), int32(4)}, []any{[]any{int32(1), int32(2)}, []any{int32(3), int32(4)}}},
		{"'[0:1]={5,6}'::int4[]", []any{int32(5), int32(6)}, nil},
		{`'{"{\"a\": 1}"}'::jsonb[]`, []any{map[string]any{"a": 1.0}}, []any{json.RawMessage(`{"a": 1}`)}},
		{"'{1.5}'::numeric[]", []any{pgtype.Numeric{Int: big.NewInt(15), Exp: -1, Valid: true}}, nil},
		{"NULL", nil, nil},
		{"'(1,2)'::point", pgtype.Point{P: pgtype.Vec2{X: 1, Y: 2}, Valid: true}, nil},
	}
	for _, configure := range []bool{false, true} {
		c := typesConn(t, configure)
		if configure {
			ConfigureTypeMap(c.TypeMap()) // twice: harmless
		}
		for _, tc := range cases {
			_, rows := query(t, c, "SELECT "+tc.sql)
			got, want := rows[0][0], tc.want
			if configure && tc.configured != nil {
				want = tc.configured
			}
			same := reflect.DeepEqual(got, want)
			if gt, ok := got.(time.Time); ok {
				wt, _ := want.(time.Time)
				same = gt.Equal(wt) && gt.Location() == wt.Location()
			}
			if !same {
				t.Errorf("configured=%v: SELECT %s: Values() gave %T %#v, want %T %#v", configure, tc.sql, got, got, want, want)
			}
		}
	}
}

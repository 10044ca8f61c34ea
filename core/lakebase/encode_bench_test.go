package lakebase

import (
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// benchColumns and benchRows are a result of every kind, as pgx returns
// it with a configured type map, one value in ten NULL: the values the
// batch encoders convert on the hot path of NextBatch.
var benchColumns = []Column{
	{Name: "b", TypeOID: pgtype.BoolOID}, {Name: "i4", TypeOID: pgtype.Int4OID}, {Name: "i8", TypeOID: pgtype.Int8OID},
	{Name: "f8", TypeOID: pgtype.Float8OID}, {Name: "n", TypeOID: pgtype.NumericOID}, {Name: "t", TypeOID: pgtype.TextOID},
	{Name: "ba", TypeOID: pgtype.ByteaOID}, {Name: "d", TypeOID: pgtype.DateOID}, {Name: "tm", TypeOID: pgtype.TimeOID},
	{Name: "ts", TypeOID: pgtype.TimestampOID}, {Name: "tz", TypeOID: pgtype.TimestamptzOID},
	{Name: "iv", TypeOID: pgtype.IntervalOID}, {Name: "u", TypeOID: pgtype.UUIDOID}, {Name: "j", TypeOID: pgtype.JSONBOID},
	{Name: "a", TypeOID: pgtype.Int4ArrayOID},
}

func benchRows(n int) [][]any {
	base := time.Date(2024, 5, 1, 12, 0, 0, 500000000, time.UTC)
	rows := make([][]any, n)
	for i := range rows {
		t := base.Add(time.Duration(i) * time.Second)
		rows[i] = []any{i%2 == 0, int32(i), int64(i) * 1000003, float64(i) / 7,
			pgtype.Numeric{Int: big.NewInt(int64(i) * 12345), Exp: -2, Valid: true}, "row text value",
			[]byte("some bytes"), t, pgtype.Time{Microseconds: int64(i) * 1000, Valid: true}, t, t,
			pgtype.Interval{Microseconds: int64(i), Days: 1, Months: 2, Valid: true},
			[16]byte{1, 2, 3, byte(i)}, json.RawMessage(`{"k":[1,2,3]}`), []any{int32(i), int32(2), nil}}
		if i%10 == 9 {
			rows[i][i%len(benchColumns)] = nil
		}
	}
	return rows
}

func benchmarkEncode(b *testing.B, format Format) {
	rows := benchRows(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeBatch(format, benchColumns, rows); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeColumnar(b *testing.B) { benchmarkEncode(b, FormatColumnar) }

func BenchmarkEncodePickle(b *testing.B) { benchmarkEncode(b, FormatPickle) }

func BenchmarkDecodeParams(b *testing.B) {
	params := encodeParams(pText("a text"), pInt(42), pFloat(1.5), pNum("12.50"), pBool(true),
		pBytes([]byte("xyz")...), pDays(9000), pTSTZ(7e14), pUUID([16]byte{1}), pJSON(`{"a":1}`),
		pArr(pInt32(1), pInt32(2), pNull), pNull)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeParams(FormatColumnar, params); err != nil {
			b.Fatal(err)
		}
	}
}

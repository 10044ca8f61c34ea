package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// encodeJSON is the JSON candidate: {"version":1,"kinds":[…],"rows":[[…]…]}
// or, byColumn, {"version":1,"kinds":[…],"rows":N,"columns":[[…]…]}, the
// values in the forms a type-directed decoder converts: int4, float8 and
// bool as JSON numbers and booleans; int8 as a decimal string (JavaScript
// numbers cannot hold it); numeric as its exact text; text as a string;
// timestamptz as microseconds since 2000-01-01 UTC; bytea as base64. It
// covers the benchmark's column types only.
func encodeJSON(rows [][]any, byColumn bool) ([]byte, error) {
	names := map[uint32]string{pgtype.Int4OID: "int32", pgtype.Int8OID: "int64", pgtype.Float8OID: "float64",
		pgtype.NumericOID: "numeric", pgtype.TextOID: "text", pgtype.TimestamptzOID: "timestamptz",
		pgtype.BoolOID: "bool", pgtype.ByteaOID: "bytes"}
	kinds := make([]string, len(columns))
	for i, c := range columns {
		kinds[i] = names[c.TypeOID]
	}
	b := []byte(`{"version":1,"kinds":`)
	k, _ := json.Marshal(kinds)
	b = append(b, k...)
	value := func(v any) error {
		switch x := v.(type) {
		case nil:
			b = append(b, "null"...)
		case bool:
			b = strconv.AppendBool(b, x)
		case int32:
			b = strconv.AppendInt(b, int64(x), 10)
		case int64:
			b = append(b, '"')
			b = strconv.AppendInt(b, x, 10)
			b = append(b, '"')
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return fmt.Errorf("no special floats in this benchmark")
			}
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		case pgtype.Numeric:
			s, err := x.Value()
			if err != nil {
				return err
			}
			b = strconv.AppendQuote(b, s.(string)) // digits only: a JSON string as well
		case string:
			s, _ := json.Marshal(x)
			b = append(b, s...)
		case time.Time:
			b = strconv.AppendInt(b, x.UnixMicro()-946684800_000000, 10)
		case []byte:
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, x)
			b = append(b, '"')
		default:
			return fmt.Errorf("json candidate: no encoding for %T", v)
		}
		return nil
	}
	if byColumn {
		b = fmt.Appendf(b, `,"rows":%d,"columns":[`, len(rows))
		for c := range kinds {
			if c > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for i, r := range rows {
				if i > 0 {
					b = append(b, ',')
				}
				if err := value(r[c]); err != nil {
					return nil, err
				}
			}
			b = append(b, ']')
		}
		return append(b, "]}"...), nil
	}
	b = append(b, `,"rows":[`...)
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for c, v := range r {
			if c > 0 {
				b = append(b, ',')
			}
			if err := value(v); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, "]}"...), nil
}

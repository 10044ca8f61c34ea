package lakebase

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// This file holds the conversions of Go values to their batch
// representation, one per kind, shared by every batch format and the JSON
// forms.
// They accept what rows.Values() returns with a default or a configured
// type map (see TYPES.md), and the obvious alternatives (any Go integer
// for an integer, a string for numeric); anything else is an error that
// names the Go type.

func errType(v any, want string) error {
	return fmt.Errorf("got a Go %T, want %s", v, want)
}

func toBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, errType(v, "bool")
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of the int64 range", x)
		}
		return int64(x), nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of the int64 range", x)
		}
		return int64(x), nil
	}
	return 0, errType(v, "an integer")
}

func toInt32(v any) (int32, error) {
	n, err := toInt64(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%d is out of the int32 range", n)
	}
	return int32(n), nil
}

// toFloat64 widens a float4 through its shortest decimal form, so that
// float4 0.1 is 0.1 (what PostgreSQL prints), not 0.10000000149011612.
func toFloat64(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		f := float64(x)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return f, nil
		}
		var buf [32]byte
		f, _ = strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], f, 'g', -1, 32)), 64)
		return f, nil
	}
	return 0, errType(v, "float64 or float32")
}

// appendNumeric appends a numeric in PostgreSQL's text form: plain
// decimal digits with every digit of the scale kept ("1.50"), never an
// exponent; "NaN", "Infinity" or "-Infinity". A string is taken to be
// such a text already.
func appendNumeric(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case pgtype.Numeric:
		return appendNumericValue(buf, x)
	case *pgtype.Numeric:
		if x != nil {
			return appendNumericValue(buf, *x)
		}
	case string:
		return append(buf, x...), nil
	default:
		if n, err := toInt64(v); err == nil {
			return strconv.AppendInt(buf, n, 10), nil
		}
	}
	return buf, errType(v, "pgtype.Numeric")
}

func appendNumericValue(buf []byte, n pgtype.Numeric) ([]byte, error) {
	switch {
	case !n.Valid:
		return buf, fmt.Errorf("invalid (NULL) pgtype.Numeric")
	case n.NaN:
		return append(buf, "NaN"...), nil
	case n.InfinityModifier == pgtype.Infinity:
		return append(buf, "Infinity"...), nil
	case n.InfinityModifier == pgtype.NegativeInfinity:
		return append(buf, "-Infinity"...), nil
	}
	start := len(buf)
	switch {
	case n.Int == nil:
		buf = append(buf, '0')
	case n.Int.IsInt64():
		buf = strconv.AppendInt(buf, n.Int.Int64(), 10)
	default:
		buf = n.Int.Append(buf, 10)
	}
	if buf[start] == '-' {
		start++
	}
	digits := len(buf) - start
	switch exp := int(n.Exp); {
	case exp > 0:
		if buf[start] != '0' {
			buf = append(buf, strings.Repeat("0", exp)...)
		}
	case exp < 0:
		scale := -exp
		if digits <= scale { // 0.00ddd: insert "0." and zeros before the digits
			pad := scale - digits + 2
			buf = append(buf, make([]byte, pad)...)
			copy(buf[start+pad:], buf[start:start+digits])
			buf[start], buf[start+1] = '0', '.'
			for i := start + 2; i < start+pad; i++ {
				buf[i] = '0'
			}
		} else {
			at := len(buf) - scale
			buf = append(buf, 0)
			copy(buf[at+1:], buf[at:len(buf)-1])
			buf[at] = '.'
		}
	}
	return buf, nil
}

// toText returns a text value, valid UTF-8 (invalid sequences, possible
// only from a SQL_ASCII database, become U+FFFD). Values of types outside
// the table become their PostgreSQL text form (see fallbackText).
func toText(v any, oid uint32) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		s = fallbackText(v, oid)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// textMaps holds type maps for fallbackText: a Map is not safe for
// concurrent use.
var textMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

// fallbackText is the text form of a value of a type outside the table,
// as pgx encodes it in PostgreSQL's text format for oid (an inet is
// "10.0.0.1/32", a point "(1,2)"). Values pgx cannot encode back (a record
// returned as []any) fall back to Go's %v formatting.
func fallbackText(v any, oid uint32) string {
	m := textMaps.Get().(*pgtype.Map)
	defer textMaps.Put(m)
	if b, err := m.Encode(oid, pgtype.TextFormatCode, v, nil); err == nil && b != nil {
		return string(b)
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v)
}

// toBytes returns a bytea's bytes.
func toBytes(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return nil, errType(v, "[]byte")
}

// toDate returns a date as days since 2000-01-01, or a sentinel for
// ±infinity. A time.Time counts by its wall clock's date.
func toDate(v any) (int32, error) {
	switch x := v.(type) {
	case time.Time:
		d := floorDiv(wallSeconds(x)-pgEpochUnix, 86400)
		if d <= dateNegInfinity || d >= dateInfinity {
			return 0, fmt.Errorf("date %s is out of range", x.Format("2006-01-02"))
		}
		return int32(d), nil
	case pgtype.InfinityModifier:
		return infinityOf32(x)
	case pgtype.Date:
		if !x.Valid {
			return 0, fmt.Errorf("invalid (NULL) pgtype.Date")
		}
		if x.InfinityModifier != pgtype.Finite {
			return infinityOf32(x.InfinityModifier)
		}
		return toDate(x.Time)
	}
	return 0, errType(v, "time.Time or pgtype.InfinityModifier")
}

func infinityOf32(m pgtype.InfinityModifier) (int32, error) {
	switch m {
	case pgtype.Infinity:
		return dateInfinity, nil
	case pgtype.NegativeInfinity:
		return dateNegInfinity, nil
	}
	return 0, fmt.Errorf("infinity modifier %d", m)
}

func infinityOf64(m pgtype.InfinityModifier) (int64, error) {
	switch m {
	case pgtype.Infinity:
		return timestampInfinity, nil
	case pgtype.NegativeInfinity:
		return timestampNegInfinity, nil
	}
	return 0, fmt.Errorf("infinity modifier %d", m)
}

// toTime returns a time of day as microseconds since midnight
// (0 to 86,400,000,000 inclusive: PostgreSQL allows 24:00:00).
func toTime(v any) (int64, error) {
	switch x := v.(type) {
	case pgtype.Time:
		if !x.Valid {
			return 0, fmt.Errorf("invalid (NULL) pgtype.Time")
		}
		return x.Microseconds, nil
	case time.Duration:
		return x.Microseconds(), nil
	}
	return 0, errType(v, "pgtype.Time")
}

// toTimestamp returns microseconds since 2000-01-01 00:00:00, or a
// sentinel for ±infinity. For a timestamptz (tz) that is the instant, in
// UTC; for a timestamp, the wall clock of the time.Time as is (pgx returns
// it in UTC).
func toTimestamp(v any, tz bool) (int64, error) {
	switch x := v.(type) {
	case time.Time:
		s := x.Unix()
		if !tz {
			s = wallSeconds(x)
		}
		s -= pgEpochUnix
		if s > (timestampInfinity-999999)/1000000 || s < (timestampNegInfinity+999999)/1000000 {
			return 0, fmt.Errorf("timestamp %s is out of range", x)
		}
		return s*1000000 + int64(x.Nanosecond()/1000), nil
	case pgtype.InfinityModifier:
		return infinityOf64(x)
	case pgtype.Timestamptz:
		if !x.Valid {
			return 0, fmt.Errorf("invalid (NULL) pgtype.Timestamptz")
		}
		if x.InfinityModifier != pgtype.Finite {
			return infinityOf64(x.InfinityModifier)
		}
		return toTimestamp(x.Time, tz)
	case pgtype.Timestamp:
		if !x.Valid {
			return 0, fmt.Errorf("invalid (NULL) pgtype.Timestamp")
		}
		if x.InfinityModifier != pgtype.Finite {
			return infinityOf64(x.InfinityModifier)
		}
		return toTimestamp(x.Time, tz)
	}
	return 0, errType(v, "time.Time or pgtype.InfinityModifier")
}

// toInterval returns an interval's three fields, as PostgreSQL keeps
// them: they are independent (a month is not a number of days).
func toInterval(v any) (micros int64, days, months int32, err error) {
	switch x := v.(type) {
	case pgtype.Interval:
		if !x.Valid {
			return 0, 0, 0, fmt.Errorf("invalid (NULL) pgtype.Interval")
		}
		return x.Microseconds, x.Days, x.Months, nil
	case time.Duration:
		return x.Microseconds(), 0, 0, nil
	}
	return 0, 0, 0, errType(v, "pgtype.Interval")
}

// toUUID returns a uuid's 16 bytes.
func toUUID(v any) ([16]byte, error) {
	switch x := v.(type) {
	case [16]byte:
		return x, nil
	case pgtype.UUID:
		if x.Valid {
			return x.Bytes, nil
		}
		return x.Bytes, fmt.Errorf("invalid (NULL) pgtype.UUID")
	}
	return [16]byte{}, errType(v, "[16]byte")
}

// appendJSONDoc appends a json or jsonb value as a JSON document: raw
// documents (json.RawMessage, from a configured map) as they are, values
// decoded by a default map re-encoded.
func appendJSONDoc(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case json.RawMessage: // as the server sent it, valid
		return append(buf, x...), nil
	case nil:
		return append(buf, "null"...), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return buf, err
	}
	return append(buf, b...), nil
}

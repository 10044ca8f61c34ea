package lakebase

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
)

// This file holds the JSON forms of values (TYPES.md, "JSON forms"), used
// for array elements in every batch format and by `lakelink sql --format json`.

// base64Std encodes bytea values in JSON forms.
var base64Std = base64.StdEncoding

// AppendJSON appends v, a value of col as Result.Values returns it, in its
// JSON form (TYPES.md, "JSON forms"; nil is null): the one mapping of
// values to JSON, for array elements in batches and for `lakelink sql
// --format json`. An int8 is a string, a timestamp a number of
// microseconds since 2000-01-01, a json document a one-element array.
func AppendJSON(buf []byte, col Column, v any) ([]byte, error) {
	k, elem := kindsOf(col.TypeOID)
	return appendJSONForm(buf, k, elem, v, col.TypeOID)
}

// appendJSONForm appends v, of kind k, in its JSON form: the value form
// of the json format and of array elements in every format (TYPES.md,
// "JSON forms"). nil is null.
func appendJSONForm(buf []byte, k, elem kind, v any, oid uint32) ([]byte, error) {
	if v == nil {
		return append(buf, "null"...), nil
	}
	switch k {
	case kindBool:
		b, err := toBool(v)
		return strconv.AppendBool(buf, b), err
	case kindInt32:
		n, err := toInt32(v)
		return strconv.AppendInt(buf, int64(n), 10), err
	case kindInt64:
		n, err := toInt64(v)
		buf = append(buf, '"')
		buf = strconv.AppendInt(buf, n, 10)
		return append(buf, '"'), err
	case kindFloat64:
		f, err := toFloat64(v)
		return appendJSONFloat(buf, f), err
	case kindNumeric:
		buf = append(buf, '"')
		buf, err := appendNumeric(buf, v)
		return append(buf, '"'), err
	case kindText:
		return appendJSONString(buf, toText(v, oid)), nil
	case kindBytes:
		b, err := toBytes(v)
		buf = append(buf, '"')
		buf = base64Std.AppendEncode(buf, b)
		return append(buf, '"'), err
	case kindDate:
		d, err := toDate(v)
		switch d {
		case dateInfinity:
			return append(buf, `"infinity"`...), err
		case dateNegInfinity:
			return append(buf, `"-infinity"`...), err
		}
		return strconv.AppendInt(buf, int64(d), 10), err
	case kindTime:
		t, err := toTime(v)
		return strconv.AppendInt(buf, t, 10), err
	case kindTimestamp, kindTimestamptz:
		t, err := toTimestamp(v, k == kindTimestamptz)
		switch t {
		case timestampInfinity:
			return append(buf, `"infinity"`...), err
		case timestampNegInfinity:
			return append(buf, `"-infinity"`...), err
		}
		return strconv.AppendInt(buf, t, 10), err
	case kindInterval:
		us, d, m, err := toInterval(v)
		buf = append(buf, '[')
		buf = strconv.AppendInt(buf, int64(m), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(d), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, us, 10)
		return append(buf, ']'), err
	case kindUUID:
		u, err := toUUID(v)
		buf = append(buf, '"')
		buf = appendUUID(buf, u)
		return append(buf, '"'), err
	case kindJSON:
		buf = append(buf, '[')
		buf, err := appendJSONDoc(buf, v)
		return append(buf, ']'), err
	case kindArray:
		a, ok := v.([]any)
		if !ok {
			return buf, errType(v, "[]any")
		}
		buf = append(buf, '[')
		for i, e := range a {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if _, nested := e.([]any); nested {
				buf, err = appendJSONForm(buf, kindArray, elem, e, oid)
			} else {
				buf, err = appendJSONForm(buf, elem, 0, e, oid)
			}
			if err != nil {
				return buf, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return append(buf, ']'), nil
	}
	return buf, fmt.Errorf("unknown kind %d", k)
}

// appendJSONFloat appends f as a JSON number, or as the string "NaN",
// "Infinity" or "-Infinity", which JSON numbers cannot express.
func appendJSONFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

// appendUUID appends u in its canonical lower-case form.
func appendUUID(buf []byte, u [16]byte) []byte {
	const hex = "0123456789abcdef"
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf = append(buf, '-')
		}
		buf = append(buf, hex[b>>4], hex[b&15])
	}
	return buf
}

// appendJSONString appends s, valid UTF-8, as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

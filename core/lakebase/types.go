package lakebase

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file holds lakelink's one type table (typeTable): which PostgreSQL
// types lakelink supports and the kind, the batch encoding, of each; and
// the conversions of the Go values pgx returns into each kind, shared by
// both batch formats (batch.go). TYPES.md at the root of the repository is
// the table for people: the Go, Python and Node value of each type, and
// the formats byte by byte. A test checks that it lists every type and
// kind defined here.

// Column describes one column of a result.
type Column struct {
	// Name is the column's name as the server reports it ("?column?" for
	// an unnamed expression).
	Name string
	// TypeOID is the PostgreSQL type OID of the column's values.
	TypeOID uint32
	// TypeName is the PostgreSQL name of the type ("int4", "_text" for
	// text[], "timestamptz"), or empty when neither lakelink's table nor
	// the connection's type map knows the OID (an enum, a domain's own
	// type, an extension's type); such values come as their text form.
	TypeName string
}

// Columns describes the fields of a result. m is the connection's type
// map, consulted for the names of types outside lakelink's table; it may
// be nil.
func Columns(fds []pgconn.FieldDescription, m *pgtype.Map) []Column {
	cols := make([]Column, len(fds))
	for i, fd := range fds {
		cols[i] = Column{Name: fd.Name, TypeOID: fd.DataTypeOID, TypeName: typeName(fd.DataTypeOID, m)}
	}
	return cols
}

// typeName names oid from the table, else from m.
func typeName(oid uint32, m *pgtype.Map) string {
	if t, ok := typesByOID[oid]; ok {
		if t.array {
			return "_" + t.name
		}
		return t.name
	}
	if m != nil {
		if t, ok := m.TypeForOID(oid); ok {
			return t.Name
		}
	}
	return ""
}

// kind is how values are laid out in a batch. Several PostgreSQL types
// share a kind (int2 and int4; the text types). The numbers are part of
// the batch format: never renumber.
type kind uint8

const (
	kindText        kind = 1  // text, varchar, bpchar, name; any type outside the table (its text form)
	kindBool        kind = 2  // bool
	kindInt32       kind = 3  // int2, int4
	kindInt64       kind = 4  // int8
	kindFloat64     kind = 5  // float4, float8
	kindNumeric     kind = 6  // numeric, as exact decimal text
	kindBytes       kind = 7  // bytea
	kindDate        kind = 8  // date
	kindTime        kind = 9  // time (without time zone)
	kindTimestamp   kind = 10 // timestamp (without time zone)
	kindTimestamptz kind = 11 // timestamptz
	kindInterval    kind = 12 // interval
	kindUUID        kind = 13 // uuid
	kindJSON        kind = 14 // json, jsonb
	kindArray       kind = 15 // an array of any of the above
)

var kindNames = [...]string{kindText: "text", kindBool: "bool", kindInt32: "int32", kindInt64: "int64",
	kindFloat64: "float64", kindNumeric: "numeric", kindBytes: "bytes", kindDate: "date", kindTime: "time",
	kindTimestamp: "timestamp", kindTimestamptz: "timestamptz", kindInterval: "interval", kindUUID: "uuid",
	kindJSON: "json", kindArray: "array"}

func (k kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// pgType is one row of the type table.
type pgType struct {
	name     string // PostgreSQL's name of the element type
	oid      uint32
	arrayOID uint32 // the OID of name[]
	kind     kind
}

// typeTable is lakelink's type table. Each type's array type is supported
// too, with kindArray and the element's kind.
var typeTable = []pgType{
	{"bool", pgtype.BoolOID, pgtype.BoolArrayOID, kindBool},
	{"int2", pgtype.Int2OID, pgtype.Int2ArrayOID, kindInt32},
	{"int4", pgtype.Int4OID, pgtype.Int4ArrayOID, kindInt32},
	{"int8", pgtype.Int8OID, pgtype.Int8ArrayOID, kindInt64},
	{"float4", pgtype.Float4OID, pgtype.Float4ArrayOID, kindFloat64},
	{"float8", pgtype.Float8OID, pgtype.Float8ArrayOID, kindFloat64},
	{"numeric", pgtype.NumericOID, pgtype.NumericArrayOID, kindNumeric},
	{"text", pgtype.TextOID, pgtype.TextArrayOID, kindText},
	{"varchar", pgtype.VarcharOID, pgtype.VarcharArrayOID, kindText},
	{"bpchar", pgtype.BPCharOID, pgtype.BPCharArrayOID, kindText},
	{"name", pgtype.NameOID, pgtype.NameArrayOID, kindText},
	{"bytea", pgtype.ByteaOID, pgtype.ByteaArrayOID, kindBytes},
	{"date", pgtype.DateOID, pgtype.DateArrayOID, kindDate},
	{"time", pgtype.TimeOID, pgtype.TimeArrayOID, kindTime},
	{"timestamp", pgtype.TimestampOID, pgtype.TimestampArrayOID, kindTimestamp},
	{"timestamptz", pgtype.TimestamptzOID, pgtype.TimestamptzArrayOID, kindTimestamptz},
	{"interval", pgtype.IntervalOID, pgtype.IntervalArrayOID, kindInterval},
	{"uuid", pgtype.UUIDOID, pgtype.UUIDArrayOID, kindUUID},
	{"json", pgtype.JSONOID, pgtype.JSONArrayOID, kindJSON},
	{"jsonb", pgtype.JSONBOID, pgtype.JSONBArrayOID, kindJSON},
}

// tableEntry is what the table says about one OID: an element type, or
// (array set) the array of one.
type tableEntry struct {
	pgType
	array bool
}

// typesByOID indexes typeTable by element and array OID.
var typesByOID = func() map[uint32]tableEntry {
	m := make(map[uint32]tableEntry, 2*len(typeTable))
	for _, t := range typeTable {
		m[t.oid] = tableEntry{t, false}
		m[t.arrayOID] = tableEntry{t, true}
	}
	return m
}()

// kindsOf returns how a column of type oid is encoded: its kind and, for
// an array, its elements' kind. Types outside the table are kindText.
func kindsOf(oid uint32) (k, elem kind) {
	t, ok := typesByOID[oid]
	switch {
	case !ok:
		return kindText, 0
	case t.array:
		return kindArray, t.kind
	default:
		return t.kind, 0
	}
}

// ConfigureTypeMap makes m, a connection's type map, return the values
// the batch encoding needs to be exact, where pgx's defaults lose
// information:
//
//   - json and jsonb (and their arrays' elements) decode to
//     json.RawMessage, the document exactly as the server sent it, instead
//     of a decoded any: numbers keep every digit (the default turns them
//     into float64) and a JSON null stays distinct from SQL NULL (the
//     default returns nil for both).
//   - Arrays of the table's types with more than one dimension decode to
//     nested []any (a 2×2 array is []any{[]any{1, 2}, []any{3, 4}})
//     instead of the default's flattened []any{1, 2, 3, 4}. One-dimensional
//     arrays stay []any; lower bounds other than 1 are dropped, as psycopg
//     and node-postgres do.
//   - A numeric zero keeps its scale (0.00 is 0 × 10^-2, printed "0.00" as
//     PostgreSQL prints it), where pgx's default drops it.
//
// Scanning into an *any gets the same values as Values(); encoding
// parameters and scanning into typed Go variables are unchanged. Call it
// once for every new connection (pgxpool.Config.AfterConnect); calling it
// again is harmless. EncodeBatch accepts values from a configured or a
// default map alike.
func ConfigureTypeMap(m *pgtype.Map) {
	for _, oid := range []uint32{pgtype.JSONOID, pgtype.JSONBOID} {
		if t, ok := m.TypeForOID(oid); ok {
			if _, done := t.Codec.(rawJSONCodec); !done {
				m.RegisterType(&pgtype.Type{Name: t.Name, OID: oid, Codec: rawJSONCodec{t.Codec}})
			}
		}
	}
	if t, ok := m.TypeForOID(pgtype.NumericOID); ok {
		if _, done := t.Codec.(scaledNumericCodec); !done {
			m.RegisterType(&pgtype.Type{Name: t.Name, OID: pgtype.NumericOID, Codec: scaledNumericCodec{t.Codec}})
		}
	}
	for _, t := range typeTable {
		elem, ok := m.TypeForOID(t.oid)
		if !ok {
			continue
		}
		arr, ok := m.TypeForOID(t.arrayOID)
		if !ok {
			continue
		}
		codec := &pgtype.ArrayCodec{ElementType: elem}
		if ac, ok := arr.Codec.(nestedArrayCodec); ok {
			codec.Delimiter = ac.Delimiter
		} else if ac, ok := arr.Codec.(*pgtype.ArrayCodec); ok {
			codec.Delimiter = ac.Delimiter
		}
		m.RegisterType(&pgtype.Type{Name: arr.Name, OID: t.arrayOID, Codec: nestedArrayCodec{codec}})
	}
}

// rawJSONCodec is a json or jsonb codec whose DecodeValue returns the
// document as json.RawMessage.
type rawJSONCodec struct{ pgtype.Codec }

// DecodeValue returns a copy of the document, without jsonb's binary
// version byte.
func (c rawJSONCodec) DecodeValue(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	if oid == pgtype.JSONBOID && format == pgtype.BinaryFormatCode {
		if len(src) == 0 || src[0] != 1 {
			return nil, fmt.Errorf("jsonb: unknown binary format version")
		}
		src = src[1:]
	}
	return json.RawMessage(bytes.Clone(src)), nil
}

// PlanScan scans into *any with DecodeValue, so that array elements and
// Scan(&v) get the document too; other targets as the wrapped codec does.
func (c rawJSONCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*any); ok {
		return decodeValuePlan{c, m, oid, format}
	}
	return c.Codec.PlanScan(m, oid, format, target)
}

// scaledNumericCodec is a numeric codec whose DecodeValue keeps the scale
// of a zero: pgx decodes a binary 0.00 as 0, where PostgreSQL prints
// "0.00" (and the columnar wire path, rawbatch.go, gives "0.00" too).
type scaledNumericCodec struct{ pgtype.Codec }

// DecodeValue returns a zero as 0 × 10^-dscale; other values as the wrapped
// codec does.
func (c scaledNumericCodec) DecodeValue(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if format == pgtype.BinaryFormatCode && len(src) == 8 && binary.BigEndian.Uint16(src) == 0 &&
		binary.BigEndian.Uint16(src[4:]) == numericPos {
		return pgtype.Numeric{Int: new(big.Int), Exp: -int32(binary.BigEndian.Uint16(src[6:])), Valid: true}, nil
	}
	return c.Codec.DecodeValue(m, oid, format, src)
}

// PlanScan scans into *any with DecodeValue; other targets as the wrapped
// codec does.
func (c scaledNumericCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*any); ok {
		return decodeValuePlan{c, m, oid, format}
	}
	return c.Codec.PlanScan(m, oid, format, target)
}

// decodeValuePlan scans into *any with a codec's DecodeValue.
type decodeValuePlan struct {
	codec  pgtype.Codec
	m      *pgtype.Map
	oid    uint32
	format int16
}

func (p decodeValuePlan) Scan(src []byte, target any) error {
	v, err := p.codec.DecodeValue(p.m, p.oid, p.format, src)
	if err != nil {
		return err
	}
	*target.(*any) = v
	return nil
}

// nestedArrayCodec is an ArrayCodec whose DecodeValue keeps the shape of
// multidimensional arrays.
type nestedArrayCodec struct{ *pgtype.ArrayCodec }

// DecodeValue returns []any, nested once per dimension beyond the first.
func (c nestedArrayCodec) DecodeValue(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	var a pgtype.Array[any]
	if err := m.PlanScan(oid, format, &a).Scan(src, &a); err != nil {
		return nil, err
	}
	if len(a.Dims) <= 1 {
		if a.Elements == nil {
			a.Elements = []any{}
		}
		return a.Elements, nil
	}
	return nest(a.Elements, a.Dims), nil
}

// PlanScan scans into *any with DecodeValue, so that Scan(&v) gets the
// nested shape too; other targets as ArrayCodec does.
func (c nestedArrayCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*any); ok {
		return decodeValuePlan{c, m, oid, format}
	}
	return c.ArrayCodec.PlanScan(m, oid, format, target)
}

// nest shapes flat, row-major elements into nested slices per dims.
func nest(flat []any, dims []pgtype.ArrayDimension) []any {
	n := int(dims[0].Length)
	out := make([]any, n)
	if len(dims) == 1 {
		copy(out, flat)
		return out
	}
	step := len(flat) / max(n, 1)
	for i := range out {
		out[i] = nest(flat[i*step:(i+1)*step], dims[1:])
	}
	return out
}

// Conversions of Go values to their batch representation, one per kind.
// They accept what rows.Values() returns with a default or a configured
// type map (see TYPES.md), and the obvious alternatives (any Go integer
// for an integer, a string for numeric); anything else is an error that
// names the Go type.

// PostgreSQL's epoch, 2000-01-01 00:00:00 UTC, from which dates and
// timestamps are counted in a batch, exactly as in PostgreSQL's binary
// protocol.
const pgEpochUnix = 946684800

// base64Std encodes bytea values in JSON forms.
var base64Std = base64.StdEncoding

// Infinity sentinels of PostgreSQL's binary protocol, used in batches.
const (
	dateInfinity         = math.MaxInt32
	dateNegInfinity      = math.MinInt32
	timestampInfinity    = math.MaxInt64
	timestampNegInfinity = math.MinInt64
)

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

// wallSeconds returns t's wall clock as seconds since the Unix epoch, as
// if its location were UTC.
func wallSeconds(t time.Time) int64 {
	_, off := t.Zone()
	return t.Unix() + int64(off)
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
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

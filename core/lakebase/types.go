package lakebase

import (
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file holds lakelink's one type table (typeTable): which PostgreSQL
// types lakelink supports and the kind, the batch encoding, of each. The
// conversions of the Go values pgx returns into each kind are in
// convert.go, the batch formats in columnar.go and pickle.go. TYPES.md at the root of the repository is
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

// columnType is what the encoders need of a column's type: its kind, its
// elements' kind for an array, and its OID (for the text of a type outside
// the table).
type columnType struct {
	kind, elem kind
	oid        uint32
}

// columnTypeOf is the columnType of values of type oid.
func columnTypeOf(oid uint32) columnType {
	k, elem := kindsOf(oid)
	return columnType{k, elem, oid}
}

package lakebase

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/jackc/pgx/v5/pgtype"
)

// This file makes a connection's type map exact for batches
// (ConfigureTypeMap): the codec wrappers that keep json documents, numeric
// scales and array shapes as the server sent them.

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

package lakebase

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Columnar batches straight from the wire.
//
// Decoding every value into a Go value (pgx's Values) and encoding that
// takes over half the CPU of a fetch, most of it allocating and collecting
// the boxed values. For the common types, the columnar layout is a direct
// conversion of PostgreSQL's binary format (big-endian integers and
// floats, microseconds and days since 2000-01-01 with the same infinity
// sentinels, text as is, numeric digits base 10,000 to text), so a batch
// whose every column has one is encoded from the rows' wire values instead.
// rawbatch_test.go checks that both ways give the same bytes.

// rawTypes are the types with a direct conversion, and the size of their
// binary values: anyFormat for the text types (the same bytes in either
// format), variable for numeric, which must come in binary as the others.
var rawTypes = map[uint32]int{
	pgtype.TextOID: anyFormat, pgtype.VarcharOID: anyFormat, pgtype.BPCharOID: anyFormat, pgtype.NameOID: anyFormat,
	pgtype.NumericOID: variable, pgtype.BoolOID: 1, pgtype.Int2OID: 2, pgtype.Int4OID: 4, pgtype.Float4OID: 4,
	pgtype.DateOID: 4, pgtype.Int8OID: 8, pgtype.Float8OID: 8, pgtype.TimestampOID: 8, pgtype.TimestamptzOID: 8,
}

// Sizes in rawTypes that are not a fixed size.
const (
	anyFormat = -1
	variable  = 0
)

// rawWire tells whether a column of type oid sent in wire format format
// has a direct conversion to its kind's columnar layout.
func rawWire(oid uint32, format int16) bool {
	if size, ok := rawTypes[oid]; ok {
		return size == anyFormat || format == pgtype.BinaryFormatCode
	}
	_, inTable := typesByOID[oid]
	return !inTable && format == pgtype.TextFormatCode // its text (textform.go)
}

// rawColumns tells whether every column of fields has a direct conversion.
func rawColumns(fields []pgconn.FieldDescription) bool {
	for _, f := range fields {
		if !rawWire(f.DataTypeOID, f.Format) {
			return false
		}
	}
	return true
}

// rawRows is a batch of rows as the server sent them: each cell's bytes,
// copied out of the connection's buffer, or NULL. A result keeps one and
// reuses its memory from batch to batch.
type rawRows struct {
	ncols, n int
	data     []byte
	offs     []int // cell k (row*ncols + column) is data[offs[k]:offs[k+1]]
	null     []bool
}

// reset empties b for a batch of rows of ncols columns.
func (b *rawRows) reset(ncols int) {
	b.ncols, b.n = ncols, 0
	b.data, b.offs, b.null = b.data[:0], append(b.offs[:0], 0), b.null[:0]
}

func (b *rawRows) add(row [][]byte) {
	for _, v := range row {
		b.data = append(b.data, v...)
		b.offs = append(b.offs, len(b.data))
		b.null = append(b.null, v == nil)
	}
	b.n++
}

func (b *rawRows) len() int { return b.n }

func (b *rawRows) cell(row, col int) []byte {
	k := row*b.ncols + col
	if b.null[k] {
		return nil
	}
	return b.data[b.offs[k]:b.offs[k+1]]
}

// encodeRawColumnar writes FormatColumnar from wire values, for columns
// rawColumns accepted: the bytes encodeColumnar writes from their Values.
func encodeRawColumnar(cols []Column, rows *rawRows) ([]byte, error) {
	n := rows.len()
	buf, err := newColumnarBatch(len(cols), n, 16+len(cols)*32+len(rows.data)+3*len(rows.null))
	if err != nil {
		return nil, err
	}
	for c, col := range cols {
		k, _ := kindsOf(col.TypeOID)
		var head, body int
		nulls := nullFlags(n, func(i int) bool { return rows.null[i*rows.ncols+c] })
		buf, head, body = appendColumnHead(buf, k, 0, nulls)
		if buf, err = appendRawColumn(buf, k, col.TypeOID, rows, c); err != nil {
			return nil, columnError(cols, c, err)
		}
		if err := endColumn(buf, head, body, c, col); err != nil {
			return nil, err
		}
	}
	return endColumnarBatch(buf)
}

// appendRawColumn appends column c's values, of kind k, converted from
// the binary format (text kinds: as sent). A NULL holds its kind's
// placeholder, as in columnEncoders.
func appendRawColumn(buf []byte, k kind, oid uint32, rows *rawRows, c int) ([]byte, error) {
	le, be := binary.LittleEndian, binary.BigEndian
	n, size := rows.len(), rawTypes[oid]
	for i := 0; i < n; i++ {
		v := rows.cell(i, c)
		if size > 0 && len(v) != size && !rows.null[i*rows.ncols+c] {
			return buf, &rowErr{i, fmt.Errorf("a %d-byte binary value for type OID %d", len(v), oid)}
		}
		if k == kindText || k == kindNumeric {
			if i > 0 {
				buf = append(buf, 0)
			}
		}
		switch k {
		case kindBool:
			buf = append(buf, b2u8(len(v) == 1 && v[0] != 0))
		case kindInt32:
			var x int32
			switch len(v) {
			case 2:
				x = int32(int16(be.Uint16(v)))
			case 4:
				x = int32(be.Uint32(v))
			}
			buf = le.AppendUint32(buf, uint32(x))
		case kindDate:
			var x uint32
			if v != nil {
				x = be.Uint32(v)
			}
			buf = le.AppendUint32(buf, x)
		case kindInt64, kindTimestamp, kindTimestamptz:
			var x uint64
			if v != nil {
				x = be.Uint64(v)
			}
			buf = le.AppendUint64(buf, x)
		case kindFloat64:
			var f float64
			switch len(v) {
			case 4:
				f, _ = toFloat64(math.Float32frombits(be.Uint32(v)))
			case 8:
				f = math.Float64frombits(be.Uint64(v))
			}
			buf = le.AppendUint64(buf, math.Float64bits(f))
		case kindNumeric:
			if v == nil {
				buf = append(buf, '0')
				break
			}
			var err error
			if buf, err = appendBinaryNumeric(buf, v); err != nil {
				return buf, &rowErr{i, err}
			}
		default: // kindText
			if utf8.Valid(v) {
				buf = append(buf, v...)
			} else {
				buf = append(buf, toText(string(v), oid)...)
			}
			// PostgreSQL's text cannot hold a NUL: none to check for.
		}
	}
	return buf, nil
}

// Signs of a binary numeric.
const (
	numericPos    = 0x0000
	numericNeg    = 0x4000
	numericNaN    = 0xC000
	numericPInf   = 0xD000
	numericNegInf = 0xF000
)

// appendBinaryNumeric appends a numeric in PostgreSQL's binary format
// (ndigits, weight, sign, dscale, then ndigits base-10,000 digits) as its
// text form, as the server's numeric_out writes it (appendNumericValue's
// form): every digit of the scale, never an exponent.
func appendBinaryNumeric(buf, v []byte) ([]byte, error) {
	be := binary.BigEndian
	if len(v) < 8 {
		return buf, fmt.Errorf("a %d-byte binary numeric", len(v))
	}
	ndigits, weight, sign, dscale := int(be.Uint16(v)), int(int16(be.Uint16(v[2:]))), be.Uint16(v[4:]), int(be.Uint16(v[6:]))
	if len(v) != 8+2*ndigits {
		return buf, fmt.Errorf("a binary numeric of %d digits in %d bytes", ndigits, len(v))
	}
	switch sign {
	case numericNaN:
		return append(buf, "NaN"...), nil
	case numericPInf:
		return append(buf, "Infinity"...), nil
	case numericNegInf:
		return append(buf, "-Infinity"...), nil
	case numericNeg:
		buf = append(buf, '-')
	case numericPos:
	default:
		return buf, fmt.Errorf("a binary numeric with sign %#x", sign)
	}
	for i := 0; i < ndigits; i++ {
		if be.Uint16(v[8+2*i:]) >= 10000 {
			return buf, fmt.Errorf("a binary numeric with the base-10,000 digit %d", be.Uint16(v[8+2*i:]))
		}
	}
	digit := func(i int) int {
		if i < 0 || i >= ndigits {
			return 0
		}
		return int(be.Uint16(v[8+2*i:]))
	}
	if weight < 0 {
		buf = append(buf, '0')
	} else {
		buf = strconv.AppendInt(buf, int64(digit(0)), 10)
		for i := 1; i <= weight; i++ {
			buf = appendDigits4(buf, digit(i))
		}
	}
	if dscale > 0 {
		buf = append(buf, '.')
		for i, left := weight+1, dscale; left > 0; i, left = i+1, left-4 {
			var d [4]byte
			appendDigits4(d[:0], digit(i))
			buf = append(buf, d[:min(left, 4)]...)
		}
	}
	return buf, nil
}

// appendDigits4 appends d (0 to 9,999) as four digits.
func appendDigits4(buf []byte, d int) []byte {
	return append(buf, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
}

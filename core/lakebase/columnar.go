package lakebase

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file writes FormatColumnar (TYPES.md has the layout): a header,
// then each column, a kind at a time, by the encoder of its kind in
// columnEncoders.

// encodeColumnar writes FormatColumnar; TYPES.md has the layout.
func encodeColumnar(cols []Column, rows [][]any) ([]byte, error) {
	n := len(rows)
	buf, err := newColumnarBatch(len(cols), n, 16+len(cols)*(24+9*n))
	if err != nil {
		return nil, err
	}
	for c, col := range cols {
		t := columnTypeOf(col.TypeOID)
		var head, body int
		nulls := nullFlags(n, func(i int) bool { return rows[i][c] == nil })
		buf, head, body = appendColumnHead(buf, t.kind, t.elem, nulls)
		if buf, err = columnEncoders[t.kind](buf, t, rows, c); err != nil {
			return nil, columnError(cols, c, err)
		}
		if err := endColumn(buf, head, body, c, col); err != nil {
			return nil, err
		}
	}
	return endColumnarBatch(buf)
}

// newColumnarBatch starts a batch of n rows of ncols columns: its header,
// in a buffer of the capacity given.
func newColumnarBatch(ncols, n, capacity int) ([]byte, error) {
	if n > math.MaxUint32 || ncols > math.MaxUint16 {
		return nil, fmt.Errorf("lakebase: encoding a batch: %d rows × %d columns is too large for one batch", n, ncols)
	}
	buf := make([]byte, 0, capacity)
	buf = append(buf, columnarMagic...)
	buf = binary.LittleEndian.AppendUint16(buf, formatVersion)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(ncols))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	return binary.LittleEndian.AppendUint32(buf, 0), nil // the batch's length, set by endColumnarBatch
}

// nullFlags is which of a column's n values are NULL, or nil when none is.
func nullFlags(n int, isNull func(row int) bool) []bool {
	var nulls []bool
	for i := 0; i < n; i++ {
		if isNull(i) {
			if nulls == nil {
				nulls = make([]bool, n)
			}
			nulls[i] = true
		}
	}
	return nulls
}

// appendColumnHead appends a column's header (its kind, its elements'
// kind) and, when nulls is not nil, its NULL flags. head is where the
// header starts, body where the values will.
func appendColumnHead(buf []byte, k, elem kind, nulls []bool) (_ []byte, head, body int) {
	buf = pad8(buf)
	head = len(buf)
	buf = append(buf, byte(k), 0, byte(elem), 0, 0, 0, 0, 0)
	if nulls != nil {
		buf[head+1] = 1
		for _, null := range nulls {
			buf = append(buf, b2u8(null))
		}
		buf = pad8(buf)
	}
	return buf, head, len(buf)
}

// endColumn records the length of the column whose values start at body
// in its header at head.
func endColumn(buf []byte, head, body, c int, col Column) error {
	if len(buf)-body > math.MaxUint32 {
		return fmt.Errorf("lakebase: encoding a batch: column %d %q holds over 4 GiB; fetch fewer rows per batch", c, col.Name)
	}
	binary.LittleEndian.PutUint32(buf[head+4:], uint32(len(buf)-body))
	return nil
}

// endColumnarBatch records the batch's length in its header.
func endColumnarBatch(buf []byte) ([]byte, error) {
	if len(buf) > math.MaxUint32 {
		return nil, fmt.Errorf("lakebase: encoding a batch: over 4 GiB; fetch fewer rows per batch")
	}
	binary.LittleEndian.PutUint32(buf[12:], uint32(len(buf)))
	return buf, nil
}

// columnError is the error of a column's value (a *rowErr) as the caller sees it.
func columnError(cols []Column, c int, err error) error {
	var re *rowErr
	errors.As(err, &re)
	return valueError(cols, c, re.row, re.err)
}

// rowErr is an error of the value in one row of a column.
type rowErr struct {
	row int
	err error
}

func (e *rowErr) Error() string { return e.err.Error() }

func pad8(buf []byte) []byte {
	for len(buf)%8 != 0 {
		buf = append(buf, 0)
	}
	return buf
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// A columnEncoder appends the values of column c of rows, a column of
// type t, in the layout of t's kind (TYPES.md). A NULL holds its kind's
// placeholder, so that a decoder can convert a whole column at once and
// then put the NULLs in. An error is a *rowErr.
type columnEncoder func(buf []byte, t columnType, rows [][]any, c int) ([]byte, error)

// columnEncoders holds the columnEncoder of every kind.
var columnEncoders = [...]columnEncoder{
	kindBool:        appendBoolColumn,
	kindInt32:       appendInt32Column,
	kindInt64:       appendInt64Column,
	kindFloat64:     appendFloat64Column,
	kindDate:        appendDateColumn,
	kindTime:        appendTimeColumn,
	kindTimestamp:   appendTimestampColumn,
	kindTimestamptz: appendTimestampColumn,
	kindUUID:        appendUUIDColumn,
	kindInterval:    appendIntervalColumn,
	kindBytes:       appendBytesColumn,
	kindText:        appendTextColumn,
	kindNumeric:     appendNumericColumn,
	kindJSON:        appendJSONColumn,
	kindArray:       appendArrayColumn,
}

// The kinds of fixed width: a little-endian array of their values.

func appendBoolColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 1, func(buf []byte, v any) ([]byte, error) {
		b, err := toBool(v)
		return append(buf, b2u8(b)), err
	})
}

func appendInt32Column(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 4, func(buf []byte, v any) ([]byte, error) {
		x, err := toInt32(v)
		return binary.LittleEndian.AppendUint32(buf, uint32(x)), err
	})
}

func appendInt64Column(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 8, func(buf []byte, v any) ([]byte, error) {
		x, err := toInt64(v)
		return binary.LittleEndian.AppendUint64(buf, uint64(x)), err
	})
}

func appendFloat64Column(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 8, func(buf []byte, v any) ([]byte, error) {
		f, err := toFloat64(v)
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f)), err
	})
}

func appendDateColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 4, func(buf []byte, v any) ([]byte, error) {
		d, err := toDate(v)
		return binary.LittleEndian.AppendUint32(buf, uint32(d)), err
	})
}

func appendTimeColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 8, func(buf []byte, v any) ([]byte, error) {
		us, err := toTime(v)
		return binary.LittleEndian.AppendUint64(buf, uint64(us)), err
	})
}

func appendTimestampColumn(buf []byte, t columnType, rows [][]any, c int) ([]byte, error) {
	tz := t.kind == kindTimestamptz
	return appendFixed(buf, rows, c, 8, func(buf []byte, v any) ([]byte, error) {
		us, err := toTimestamp(v, tz)
		return binary.LittleEndian.AppendUint64(buf, uint64(us)), err
	})
}

func appendUUIDColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendFixed(buf, rows, c, 16, func(buf []byte, v any) ([]byte, error) {
		u, err := toUUID(v)
		return append(buf, u[:]...), err
	})
}

// appendFixed appends a column of a kind of fixed width: each value as
// value appends it, a NULL as width zero bytes.
func appendFixed(buf []byte, rows [][]any, c, width int, value func(buf []byte, v any) ([]byte, error)) ([]byte, error) {
	var zeros [16]byte
	for i, r := range rows {
		v := r[c]
		if v == nil {
			buf = append(buf, zeros[:width]...)
			continue
		}
		var err error
		if buf, err = value(buf, v); err != nil {
			return buf, &rowErr{i, err}
		}
	}
	return buf, nil
}

// appendIntervalColumn appends an interval column as three arrays:
// microseconds, days, months.
func appendIntervalColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	le := binary.LittleEndian
	n := len(rows)
	start := len(buf)
	buf = append(buf, make([]byte, 16*n)...)
	for i, r := range rows {
		if v := r[c]; v != nil {
			us, d, m, err := toInterval(v)
			if err != nil {
				return buf, &rowErr{i, err}
			}
			le.PutUint64(buf[start+8*i:], uint64(us))
			le.PutUint32(buf[start+8*n+4*i:], uint32(d))
			le.PutUint32(buf[start+12*n+4*i:], uint32(m))
		}
	}
	return buf, nil
}

// appendBytesColumn appends a bytea column: n+1 offsets, then the bytes.
func appendBytesColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	n := len(rows)
	offs := len(buf)
	buf = append(buf, make([]byte, 4*(n+1))...)
	data := len(buf)
	for i, r := range rows {
		if v := r[c]; v != nil {
			b, err := toBytes(v)
			if err != nil {
				return buf, &rowErr{i, err}
			}
			buf = append(buf, b...)
		}
		if len(buf)-data > math.MaxUint32 {
			return buf, &rowErr{i, errors.New("the column's bytes exceed 4 GiB; fetch fewer rows per batch")}
		}
		binary.LittleEndian.PutUint32(buf[offs+4*(i+1):], uint32(len(buf)-data))
	}
	return buf, nil
}

// The kinds written as text (text and types outside the table, numeric,
// json, arrays): the values' texts joined by NUL.

func appendTextColumn(buf []byte, t columnType, rows [][]any, c int) ([]byte, error) {
	return appendTexts(buf, rows, c, "", func(buf []byte, v any) ([]byte, error) { return append(buf, toText(v, t.oid)...), nil })
}

func appendNumericColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendTexts(buf, rows, c, "0", appendNumeric)
}

func appendJSONColumn(buf []byte, _ columnType, rows [][]any, c int) ([]byte, error) {
	return appendTexts(buf, rows, c, "null", appendJSONDoc)
}

func appendArrayColumn(buf []byte, t columnType, rows [][]any, c int) ([]byte, error) {
	return appendTexts(buf, rows, c, "null", func(buf []byte, v any) ([]byte, error) {
		return appendJSONForm(buf, kindArray, t.elem, v, t.oid)
	})
}

// appendTexts appends a column of a kind written as text: each value's
// text, appended by text, a NULL as null, joined by NUL characters.
func appendTexts(buf []byte, rows [][]any, c int, null string, text func(buf []byte, v any) ([]byte, error)) ([]byte, error) {
	for i, r := range rows {
		if i > 0 {
			buf = append(buf, 0)
		}
		start := len(buf)
		if v := r[c]; v == nil {
			buf = append(buf, null...)
		} else {
			var err error
			if buf, err = text(buf, v); err != nil {
				return buf, &rowErr{i, err}
			}
		}
		if bytes.IndexByte(buf[start:], 0) >= 0 {
			return buf, &rowErr{i, errors.New("the value contains a NUL character, which PostgreSQL text cannot hold")}
		}
	}
	return buf, nil
}

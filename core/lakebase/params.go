package lakebase

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// This file decodes the parameter lists the bindings send (TYPES.md,
// "Parameters") into PostgreSQL text input forms.

// maxArrayDims is PostgreSQL's limit on an array's dimensions.
const maxArrayDims = 6

// DecodeParams decodes a statement's parameter list as a binding encodes
// it (TYPES.md, "Parameters": a header and tagged values, the tags being
// the batch kinds) into values to pass to pgx for $1…$n.
//
// Every value becomes PostgreSQL's text input form for its type, as a Go
// string (an int "42", a timestamptz "2024-05-01 12:00:00.5+00", an array
// "{\"1\",NULL}"), which pgx sends in text format for the type the server
// infers for the placeholder, as node-postgres does; nothing is lost and
// the server applies its own conversions (an int for a numeric column, a
// date for a timestamptz one). Two exceptions: NULL is nil, and bytes
// are a []byte-based value that pgx sends in binary to a bytea (and as
// its \x-hex text form where the server wants text). An untyped
// placeholder, as in "SELECT $1", is text to the server, so it returns
// the value's text.
//
// format is the batch format the binding reads; both formats share this
// encoding (version 1). The data is copied: the caller may free it on
// return. An error names the parameter ($1 is the first) and what is
// wrong: a truncated list, an unknown tag, text that is not UTF-8 or holds
// a NUL (PostgreSQL would refuse either with SQLSTATE 22021), a malformed
// numeric or JSON text, a time out of range. An error about one value is a
// *DataError (SQLSTATE 22023); a malformed list is a plain error.
func DecodeParams(format Format, data []byte) ([]any, error) {
	if format != FormatColumnar && format != FormatPickle {
		return nil, fmt.Errorf("lakebase: decoding parameters: unknown format %q (want %q or %q)", format, FormatColumnar, FormatPickle)
	}
	r := &paramReader{data: data}
	params, err := r.list()
	if err != nil {
		return nil, err
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("lakebase: decoding parameters: %d bytes after the last of %d parameters", len(data)-r.off, len(params))
	}
	return params, nil
}

// DecodeParamRows decodes rows of parameters, as executemany and COPY's
// rows form take them: parameter lists (each as DecodeParams takes one)
// one after the other, with nothing between or after them (TYPES.md,
// "Parameter rows"). Errors are DecodeParams's, naming the row (0 is
// the first).
func DecodeParamRows(format Format, data []byte) ([][]any, error) {
	if format != FormatColumnar && format != FormatPickle {
		return nil, fmt.Errorf("lakebase: decoding parameters: unknown format %q (want %q or %q)", format, FormatColumnar, FormatPickle)
	}
	r := &paramReader{data: data}
	var rows [][]any
	for r.off < len(data) {
		params, err := r.list()
		if err != nil {
			return nil, rowError(len(rows), err)
		}
		rows = append(rows, params)
	}
	return rows, nil
}

// rowError names the row of parameter rows that err is about.
func rowError(row int, err error) error {
	var de *DataError
	if errors.As(err, &de) {
		return &DataError{SQLState: de.SQLState, Err: fmt.Errorf("row %d: %w", row, de.Err)}
	}
	return fmt.Errorf("row %d: %w", row, err)
}

// list reads one parameter list: its header and its values.
func (r *paramReader) list() ([]any, error) {
	if len(r.data)-r.off < 8 || string(r.data[r.off:r.off+4]) != paramsMagic {
		return nil, errors.New("lakebase: decoding parameters: not a parameter list (it must start with \"LLPB\")")
	}
	r.off += 4
	if v := r.u16(); v != formatVersion {
		return nil, fmt.Errorf("lakebase: decoding parameters: version %d, want %d", v, formatVersion)
	}
	n := int(r.u16())
	params := make([]any, n)
	for i := range params {
		v, err := r.param()
		if errors.Is(err, errShort) {
			return nil, fmt.Errorf("lakebase: parameter $%d: %w", i+1, err)
		}
		if err != nil {
			return nil, &DataError{SQLState: "22023", Err: fmt.Errorf("lakebase: parameter $%d: %w", i+1, err)}
		}
		params[i] = v
	}
	return params, nil
}

// byteaParam is a bytes parameter: pgx sends it in binary to a bytea
// (BytesValuer) and as PostgreSQL's \x-hex text where the server wants
// text (TextValuer), never as raw bytes posing as text.
type byteaParam []byte

// BytesValue implements pgtype.BytesValuer.
func (b byteaParam) BytesValue() ([]byte, error) { return b, nil }

// TextValue implements pgtype.TextValuer.
func (b byteaParam) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(appendHexBytea(nil, b)), Valid: true}, nil
}

func appendHexBytea(buf, b []byte) []byte {
	buf = append(buf, `\x`...)
	return hex.AppendEncode(buf, b)
}

// paramReader reads a parameter list; a read past the end sets short.
type paramReader struct {
	data  []byte
	off   int
	short bool
}

var errShort = errors.New("the parameter list ends in the middle of this value (truncated or malformed)")

// take returns the next n bytes. Past the end it sets short and returns
// zeros, as many as a fixed-size read needs (never n bytes: n comes from
// the input).
func (r *paramReader) take(n int) []byte {
	if n < 0 || n > len(r.data)-r.off {
		r.short = true
		r.off = len(r.data)
		return make([]byte, min(max(n, 0), 16))
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *paramReader) u8() byte    { return r.take(1)[0] }
func (r *paramReader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *paramReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *paramReader) i32() int32  { return int32(r.u32()) }
func (r *paramReader) i64() int64  { return int64(binary.LittleEndian.Uint64(r.take(8))) }

// sized reads a u32 length and that many bytes.
func (r *paramReader) sized() []byte { return r.take(int(r.u32())) }

// param reads one top-level parameter.
func (r *paramReader) param() (any, error) {
	tag := kind(r.u8())
	switch tag {
	case 0:
		return nil, r.err()
	case kindBytes:
		b := bytes.Clone(r.sized())
		if b == nil {
			b = []byte{}
		}
		return byteaParam(b), r.err()
	case kindArray:
		buf, err := r.array(nil, 1)
		return string(buf), err
	}
	var text [64]byte // most values' text fits: no buffer of their own
	buf, err := r.scalar(text[:0], tag)
	return string(buf), err
}

func (r *paramReader) err() error {
	if r.short {
		return errShort
	}
	return nil
}

// array appends the PostgreSQL array literal of an array value: every
// element quoted, NULL bare, nested arrays in nested braces.
func (r *paramReader) array(buf []byte, depth int) ([]byte, error) {
	if depth > maxArrayDims {
		return buf, fmt.Errorf("an array nested over %d levels deep (PostgreSQL's limit)", maxArrayDims)
	}
	n := int(r.u32())
	if n > len(r.data)-r.off { // each element takes a byte at least
		return buf, errShort
	}
	buf = append(buf, '{')
	var elem []byte
	for i := 0; i < n; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		switch tag := kind(r.u8()); tag {
		case 0:
			buf = append(buf, "NULL"...)
		case kindArray:
			buf, err = r.array(buf, depth+1)
		default:
			if elem, err = r.scalar(elem[:0], tag); err == nil {
				buf = append(buf, '"')
				for _, c := range elem {
					if c == '"' || c == '\\' {
						buf = append(buf, '\\')
					}
					buf = append(buf, c)
				}
				buf = append(buf, '"')
			}
		}
		if err != nil {
			return buf, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return append(buf, '}'), r.err()
}

// scalar appends the text form of a value of tag (not NULL, not an array).
func (r *paramReader) scalar(buf []byte, tag kind) ([]byte, error) {
	var err error
	switch tag {
	case kindText:
		buf, err = appendCheckedText(buf, r.sized(), "text")
	case kindBool:
		switch r.u8() {
		case 0:
			buf = append(buf, "false"...)
		case 1:
			buf = append(buf, "true"...)
		default:
			err = errors.New("a bool must be the byte 0 or 1")
		}
	case kindInt32:
		buf = strconv.AppendInt(buf, int64(r.i32()), 10)
	case kindInt64:
		buf = strconv.AppendInt(buf, r.i64(), 10)
	case kindFloat64:
		buf = appendFloat8Text(buf, math.Float64frombits(uint64(r.i64())))
	case kindNumeric:
		s := r.sized()
		if !r.short && !validNumeric(s) {
			return buf, fmt.Errorf("numeric %q is not a decimal number (want digits with an optional sign, point and exponent, or NaN, Infinity, -Infinity)", truncate(s))
		}
		buf = append(buf, s...)
	case kindBytes:
		buf = appendHexBytea(buf, r.sized())
	case kindDate:
		buf = appendDateText(buf, r.i32())
	case kindTime:
		us := r.i64()
		if us < 0 || us > 86400_000000 {
			return buf, fmt.Errorf("time of day %d µs is not within 00:00:00 to 24:00:00", us)
		}
		buf = appendClock(buf, us)
	case kindTimestamp, kindTimestamptz:
		buf = appendTimestampText(buf, r.i64(), tag == kindTimestamptz)
	case kindInterval:
		us, d, m := r.i64(), r.i32(), r.i32()
		buf = fmt.Appendf(buf, "%d mons %d days %d microseconds", m, d, us)
	case kindUUID:
		buf = appendUUID(buf, [16]byte(r.take(16)))
	case kindJSON:
		s := r.sized()
		if buf, err = appendCheckedText(buf, s, "JSON"); err == nil && !json.Valid(s) {
			err = fmt.Errorf("JSON text %q is not valid JSON", truncate(s))
		}
	default:
		return buf, fmt.Errorf("unknown value tag %d (TYPES.md lists the tags)", tag)
	}
	if r.short {
		return buf, errShort
	}
	return buf, err
}

// appendFloat8Text appends f's float8 text input form.
func appendFloat8Text(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

// appendCheckedText appends s after checking that PostgreSQL will take it
// as text (checkText).
func appendCheckedText(buf, s []byte, what string) ([]byte, error) {
	if err := checkText(s, what); err != nil {
		return buf, err
	}
	return append(buf, s...), nil
}

// checkText checks that PostgreSQL will take s as text: valid UTF-8
// without NUL characters.
func checkText(s []byte, what string) error {
	if i := bytes.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%s contains a NUL character (byte offset %d), which PostgreSQL text cannot hold", what, i)
	}
	if !utf8.Valid(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("%s is not valid UTF-8 (byte 0x%02x at offset %d); PostgreSQL would refuse it with SQLSTATE 22021 — send bytes as bytes", what, s[i], i)
	}
	return nil
}

// validNumeric reports whether s is a numeric PostgreSQL accepts: NaN,
// [+-]Infinity, or [+-]digits[.digits][e[+-]digits] (Python's Decimal and
// JavaScript's number strings are).
func validNumeric(s []byte) bool {
	switch strings.ToLower(string(s)) {
	case "nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf":
		return true
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// truncate shortens s for an error message.
func truncate(s []byte) string {
	if len(s) > 40 {
		return string(s[:40]) + "…"
	}
	return string(s)
}

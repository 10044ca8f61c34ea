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
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// Format is an encoding of a batch of result rows, the unit in which rows
// cross an export's ABI: one buffer per batch, never one call per value.
// Each format also names how the exports' parameter lists are encoded
// (see DecodeParams). TYPES.md specifies both byte by byte for binding
// authors; bench/decode/RESULTS.md has the measurements behind the
// choice.
type Format string

// The batch formats.
const (
	// FormatColumnar is lakelink's compact binary layout: a header, then
	// each column's values together (fixed-width little-endian arrays,
	// NUL-joined UTF-8 texts, offset-indexed bytes) after a map of its
	// NULLs. A decoder reads a column with a few whole-column operations
	// (typed arrays, one UTF-8 decode and a split), so it costs little per
	// value in any language. The Node binding reads it; so can any FFI
	// user. Version 1.
	FormatColumnar Format = "columnar"
	// FormatPickle is a Python pickle (protocol 4) of the rows as the
	// Python objects themselves (int, float, Decimal, str, bytes, date,
	// time, datetime, timedelta, UUID, lists, parsed JSON), which
	// pickle.loads builds in C: measured 1.6 to 3 times faster to decode in
	// Python than FormatColumnar, 3 to 4 times faster than JSON. The
	// Python binding reads it, with an unpickler restricted to
	// the few globals TYPES.md lists. Values Python cannot represent (a
	// date before year 1, infinity, 24:00:00) make the batch fail with an
	// error naming the column and row. Version 1.
	FormatPickle Format = "pickle"
)

// DefaultFormat is the format the exports use unless a binding asks for
// another.
const DefaultFormat = FormatColumnar

// formatVersion is the version every format carries.
const formatVersion = 1

// Magic numbers that start a columnar batch and a parameter list.
const (
	columnarMagic = "LLCB"
	paramsMagic   = "LLPB"
)

// EncodeBatch encodes rows, as rows.Values() returns them (with a default
// type map, or one prepared by ConfigureTypeMap; TYPES.md lists the Go
// types), of the columns cols in format. Every row must have one value per
// column; nil is NULL. An error names the column, the row and what is
// wrong, and comes with no batch.
func EncodeBatch(format Format, cols []Column, rows [][]any) ([]byte, error) {
	for i, r := range rows {
		if len(r) != len(cols) {
			return nil, fmt.Errorf("lakebase: encoding a batch: row %d has %d values for %d columns", i, len(r), len(cols))
		}
	}
	switch format {
	case FormatColumnar:
		return encodeColumnar(cols, rows)
	case FormatPickle:
		return encodePickle(cols, rows)
	}
	return nil, fmt.Errorf("lakebase: unknown batch format %q (want %q or %q)", format, FormatColumnar, FormatPickle)
}

// valueError says which value of a batch could not be encoded.
func valueError(cols []Column, col, row int, err error) error {
	c := cols[col]
	name := c.TypeName
	if name == "" {
		name = fmt.Sprintf("OID %d", c.TypeOID)
	}
	return &DataError{SQLState: "22000", Err: fmt.Errorf("lakebase: encoding a batch: column %d %q (%s), row %d: %w", col, c.Name, name, row, err)}
}

// DataError is a value lakelink cannot convert: a parameter it cannot send
// (SQLState 22023, invalid_parameter_value) or a result value it cannot
// encode in a batch (22000, data_exception). It carries a SQLSTATE of
// PostgreSQL's class 22 so that every binding classifies it as the data
// errors the server itself reports.
type DataError struct {
	SQLState string
	Err      error
}

func (e *DataError) Error() string { return e.Err.Error() }

func (e *DataError) Unwrap() error { return e.Err }

// --- FormatColumnar ----------------------------------------------------

// encodeColumnar writes FormatColumnar; TYPES.md has the layout.
func encodeColumnar(cols []Column, rows [][]any) ([]byte, error) {
	n := len(rows)
	buf, err := newColumnarBatch(len(cols), n, 16+len(cols)*(24+9*n))
	if err != nil {
		return nil, err
	}
	for c, col := range cols {
		k, elem := kindsOf(col.TypeOID)
		var head, body int
		nulls := nullFlags(n, func(i int) bool { return rows[i][c] == nil })
		buf, head, body = appendColumnHead(buf, k, elem, nulls)
		if buf, err = appendColumn(buf, k, elem, col.TypeOID, rows, c); err != nil {
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

// appendColumn appends the values of column c, of kind k, for every row.
// A NULL holds its kind's placeholder (TYPES.md), so that a decoder can
// convert a whole column at once and then put the NULLs in.
func appendColumn(buf []byte, k, elem kind, oid uint32, rows [][]any, c int) ([]byte, error) {
	le := binary.LittleEndian
	var err error
	fail := func(row int, e error) ([]byte, error) { return buf, &rowErr{row, e} }
	switch k {
	case kindBool:
		for i, r := range rows {
			var b bool
			if v := r[c]; v != nil {
				if b, err = toBool(v); err != nil {
					return fail(i, err)
				}
			}
			buf = append(buf, b2u8(b))
		}
	case kindInt32:
		for i, r := range rows {
			var x int32
			if v := r[c]; v != nil {
				if x, err = toInt32(v); err != nil {
					return fail(i, err)
				}
			}
			buf = le.AppendUint32(buf, uint32(x))
		}
	case kindInt64:
		for i, r := range rows {
			var x int64
			if v := r[c]; v != nil {
				if x, err = toInt64(v); err != nil {
					return fail(i, err)
				}
			}
			buf = le.AppendUint64(buf, uint64(x))
		}
	case kindFloat64:
		for i, r := range rows {
			var x float64
			if v := r[c]; v != nil {
				if x, err = toFloat64(v); err != nil {
					return fail(i, err)
				}
			}
			buf = le.AppendUint64(buf, math.Float64bits(x))
		}
	case kindDate:
		for i, r := range rows {
			var x int32
			if v := r[c]; v != nil {
				if x, err = toDate(v); err != nil {
					return fail(i, err)
				}
			}
			buf = le.AppendUint32(buf, uint32(x))
		}
	case kindTime:
		for i, r := range rows {
			var x int64
			if v := r[c]; v != nil {
				if x, err = toTime(v); err != nil {
					return fail(i, err)
				}
			}
			buf = le.AppendUint64(buf, uint64(x))
		}
	case kindTimestamp, kindTimestamptz:
		for i, r := range rows {
			var x int64
			if v := r[c]; v != nil {
				if x, err = toTimestamp(v, k == kindTimestamptz); err != nil {
					return fail(i, err)
				}
			}
			buf = le.AppendUint64(buf, uint64(x))
		}
	case kindInterval: // three arrays: microseconds, days, months
		n := len(rows)
		start := len(buf)
		buf = append(buf, make([]byte, 16*n)...)
		for i, r := range rows {
			if v := r[c]; v != nil {
				us, d, m, err := toInterval(v)
				if err != nil {
					return fail(i, err)
				}
				le.PutUint64(buf[start+8*i:], uint64(us))
				le.PutUint32(buf[start+8*n+4*i:], uint32(d))
				le.PutUint32(buf[start+12*n+4*i:], uint32(m))
			}
		}
	case kindUUID:
		for i, r := range rows {
			var u [16]byte
			if v := r[c]; v != nil {
				if u, err = toUUID(v); err != nil {
					return fail(i, err)
				}
			}
			buf = append(buf, u[:]...)
		}
	case kindBytes: // n+1 offsets, then the bytes
		n := len(rows)
		offs := len(buf)
		buf = append(buf, make([]byte, 4*(n+1))...)
		data := len(buf)
		for i, r := range rows {
			if v := r[c]; v != nil {
				b, err := toBytes(v)
				if err != nil {
					return fail(i, err)
				}
				buf = append(buf, b...)
			}
			if len(buf)-data > math.MaxUint32 {
				return fail(i, errors.New("the column's bytes exceed 4 GiB; fetch fewer rows per batch"))
			}
			le.PutUint32(buf[offs+4*(i+1):], uint32(len(buf)-data))
		}
	default: // texts joined by NUL: text, numeric, json, array, types outside the table
		for i, r := range rows {
			if i > 0 {
				buf = append(buf, 0)
			}
			start := len(buf)
			v := r[c]
			switch {
			case v == nil && k == kindNumeric:
				buf = append(buf, '0')
			case v == nil && (k == kindJSON || k == kindArray):
				buf = append(buf, "null"...)
			case v == nil:
			case k == kindText:
				buf = append(buf, toText(v, oid)...)
			case k == kindNumeric:
				buf, err = appendNumeric(buf, v)
			case k == kindJSON:
				buf, err = appendJSONDoc(buf, v)
			default:
				buf, err = appendJSONForm(buf, kindArray, elem, v, oid)
			}
			if err != nil {
				return fail(i, err)
			}
			if bytes.IndexByte(buf[start:], 0) >= 0 {
				return fail(i, errors.New("the value contains a NUL character, which PostgreSQL text cannot hold"))
			}
		}
	}
	return buf, nil
}

// --- FormatPickle ------------------------------------------------------

// Pickle opcodes (Python's Lib/pickletools.py has them all).
const (
	opProto          = 0x80
	opFrame          = 0x95
	opMark           = '('
	opStop           = '.'
	opNone           = 'N'
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong1          = 0x8a
	opBinFloat       = 'G'
	opShortBinString = 0x8c // SHORT_BINUNICODE
	opBinUnicode     = 'X'
	opShortBinBytes  = 'C'
	opBinBytes       = 'B'
	opEmptyList      = ']'
	opAppends        = 'e'
	opTuple          = 't'
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opBinGet         = 'h'
	opReduce         = 'R'
)

// pyGlobal is a Python object a pickle batch refers to; TYPES.md lists
// them for the binding's restricted unpickler.
type pyGlobal uint8

const (
	pyDecimal pyGlobal = iota
	pyDate
	pyTime
	pyDatetime
	pyTimedelta
	pyUTC
	pyUUID
	pyJSONLoads
	pyGlobals
)

var pyGlobalNames = [pyGlobals][2]string{
	pyDecimal:   {"decimal", "Decimal"},
	pyDate:      {"datetime", "date"},
	pyTime:      {"datetime", "time"},
	pyDatetime:  {"datetime", "datetime"},
	pyTimedelta: {"datetime", "timedelta"},
	pyUTC:       {"datetime", "timezone.utc"},
	pyUUID:      {"uuid", "UUID"},
	pyJSONLoads: {"json", "loads"},
}

// pickler writes a pickle batch.
type pickler struct {
	buf  []byte
	memo [pyGlobals]int // memo index + 1 of each global pushed so far
	next int
	text []byte // scratch
}

// encodePickle writes FormatPickle: the pickle of the tuple (1, rows),
// rows a list of tuples, in one frame (without frames, an Unpickler
// reading from a file object reads opcode by opcode, 2.5 times slower).
func encodePickle(cols []Column, rows [][]any) ([]byte, error) {
	p := &pickler{buf: make([]byte, 0, 64+len(rows)*len(cols)*12)}
	p.buf = append(p.buf, opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0) // frame length set at the end
	p.buf = append(p.buf, opBinInt1, formatVersion, opEmptyList)
	kinds := make([]kind, len(cols))
	elems := make([]kind, len(cols))
	for c, col := range cols {
		kinds[c], elems[c] = kindsOf(col.TypeOID)
	}
	for start := 0; start < len(rows); start += 1000 { // APPENDS in chunks, as Python's pickler does
		p.buf = append(p.buf, opMark)
		for i, r := range rows[start:min(start+1000, len(rows))] {
			p.buf = append(p.buf, opMark)
			for c, v := range r {
				if err := p.value(kinds[c], elems[c], cols[c].TypeOID, v); err != nil {
					return nil, valueError(cols, c, start+i, err)
				}
			}
			p.buf = append(p.buf, opTuple)
		}
		p.buf = append(p.buf, opAppends)
	}
	p.buf = append(p.buf, opTuple2, opStop)
	binary.LittleEndian.PutUint64(p.buf[3:], uint64(len(p.buf)-11))
	return p.buf, nil
}

// global pushes a Python global, memoized on first use.
func (p *pickler) global(g pyGlobal) {
	if m := p.memo[g]; m > 0 {
		p.buf = append(p.buf, opBinGet, byte(m-1))
		return
	}
	p.str(pyGlobalNames[g][0])
	p.str(pyGlobalNames[g][1])
	p.buf = append(p.buf, opStackGlobal, opMemoize)
	p.memo[g] = p.next + 1
	p.next++
}

func (p *pickler) str(s string) {
	if len(s) < 256 {
		p.buf = append(p.buf, opShortBinString, byte(len(s)))
	} else {
		p.buf = append(p.buf, opBinUnicode)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(s)))
	}
	p.buf = append(p.buf, s...)
}

func (p *pickler) bytes(b []byte) {
	if len(b) < 256 {
		p.buf = append(p.buf, opShortBinBytes, byte(len(b)))
	} else {
		p.buf = append(p.buf, opBinBytes)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(b)))
	}
	p.buf = append(p.buf, b...)
}

func (p *pickler) int(n int64) {
	switch {
	case n >= 0 && n < 256:
		p.buf = append(p.buf, opBinInt1, byte(n))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		p.buf = append(p.buf, opBinInt)
		p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(n))
	default:
		p.buf = append(p.buf, opLong1, 8)
		p.buf = binary.LittleEndian.AppendUint64(p.buf, uint64(n))
	}
}

// call pushes g(args) given the opcode that builds the args tuple, the
// args being pushed by push.
func (p *pickler) call(g pyGlobal, tuple byte, push func()) {
	p.global(g)
	push()
	p.buf = append(p.buf, tuple, opReduce)
}

// civil splits seconds since 2000-01-01 into a UTC date and time.
func civil(secs int64) time.Time { return time.Unix(secs+pgEpochUnix, 0).UTC() }

// errNoPython is a value Python's types cannot hold.
func errNoPython(what string) error {
	return fmt.Errorf("%s has no Python equivalent; cast the column to text in SQL to read it", what)
}

// yearName names a year of the proleptic Gregorian calendar, in which
// year 0 is 1 BC.
func yearName(y int) string {
	if y <= 0 {
		return fmt.Sprintf("%d BC", 1-y)
	}
	return fmt.Sprintf("year %d", y)
}

// value pickles v, of kind k, as its Python object.
func (p *pickler) value(k, elem kind, oid uint32, v any) error {
	if v == nil {
		p.buf = append(p.buf, opNone)
		return nil
	}
	var err error
	switch k {
	case kindText:
		p.str(toText(v, oid))
	case kindBool:
		var b bool
		if b, err = toBool(v); b {
			p.buf = append(p.buf, opNewTrue)
		} else {
			p.buf = append(p.buf, opNewFalse)
		}
	case kindInt32, kindInt64:
		var n int64
		n, err = toInt64(v)
		p.int(n)
	case kindFloat64:
		var f float64
		f, err = toFloat64(v)
		p.buf = append(p.buf, opBinFloat)
		p.buf = binary.BigEndian.AppendUint64(p.buf, math.Float64bits(f))
	case kindNumeric:
		p.text, err = appendNumeric(p.text[:0], v)
		p.call(pyDecimal, opTuple1, func() { p.str(string(p.text)) })
	case kindBytes:
		var b []byte
		b, err = toBytes(v)
		p.bytes(b)
	case kindDate:
		var d int32
		if d, err = toDate(v); err != nil {
			return err
		}
		if d == dateInfinity || d == dateNegInfinity {
			return errNoPython("date ±infinity")
		}
		t := civil(int64(d) * 86400)
		if t.Year() < 1 || t.Year() > 9999 {
			return errNoPython(fmt.Sprintf("a date in %s (Python's dates span years 1 to 9999)", yearName(t.Year())))
		}
		p.call(pyDate, opTuple1, func() {
			p.bytes([]byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day())})
		})
	case kindTime:
		var us int64
		if us, err = toTime(v); err != nil {
			return err
		}
		if us < 0 || us >= 86400_000000 {
			return errNoPython("time of day 24:00:00")
		}
		s, f := us/1000000, us%1000000
		p.call(pyTime, opTuple1, func() {
			p.bytes([]byte{byte(s / 3600), byte(s / 60 % 60), byte(s % 60), byte(f >> 16), byte(f >> 8), byte(f)})
		})
	case kindTimestamp, kindTimestamptz:
		var us int64
		if us, err = toTimestamp(v, k == kindTimestamptz); err != nil {
			return err
		}
		if us == timestampInfinity || us == timestampNegInfinity {
			return errNoPython("timestamp ±infinity")
		}
		t := civil(floorDiv(us, 1000000))
		f := us - floorDiv(us, 1000000)*1000000
		if t.Year() < 1 || t.Year() > 9999 {
			return errNoPython(fmt.Sprintf("a timestamp in %s (Python's datetimes span years 1 to 9999)", yearName(t.Year())))
		}
		state := []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
			byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(f >> 16), byte(f >> 8), byte(f)}
		if k == kindTimestamp {
			p.call(pyDatetime, opTuple1, func() { p.bytes(state) })
		} else {
			p.call(pyDatetime, opTuple2, func() { p.bytes(state); p.global(pyUTC) })
		}
	case kindInterval:
		var us int64
		var d, m int32
		if us, d, m, err = toInterval(v); err != nil {
			return err
		}
		days := int64(m)*30 + int64(d)
		if total := days + us/86400_000000; total > 999999999 || total < -999999999 {
			return errNoPython("an interval beyond ±999,999,999 days")
		}
		p.call(pyTimedelta, opTuple3, func() { p.int(days); p.int(0); p.int(us) })
	case kindUUID:
		var u [16]byte
		u, err = toUUID(v)
		p.call(pyUUID, opTuple2, func() { p.buf = append(p.buf, opNone); p.bytes(u[:]) })
	case kindJSON:
		p.text, err = appendJSONDoc(p.text[:0], v)
		p.call(pyJSONLoads, opTuple1, func() { p.str(string(p.text)) })
	case kindArray:
		a, ok := v.([]any)
		if !ok {
			return errType(v, "[]any")
		}
		p.buf = append(p.buf, opEmptyList)
		if len(a) == 0 {
			return nil
		}
		p.buf = append(p.buf, opMark)
		for i, e := range a {
			ek := elem
			if _, nested := e.([]any); nested {
				ek = kindArray
			}
			if err := p.value(ek, elem, oid, e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		p.buf = append(p.buf, opAppends)
	default:
		return fmt.Errorf("unknown kind %d", k)
	}
	return err
}

// --- Parameters --------------------------------------------------------

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
	if len(data) < 8 || string(data[:4]) != paramsMagic {
		return nil, errors.New("lakebase: decoding parameters: not a parameter list (it must start with \"LLPB\")")
	}
	r.off = 4
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
	if r.off != len(data) {
		return nil, fmt.Errorf("lakebase: decoding parameters: %d bytes after the last of %d parameters", len(data)-r.off, n)
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
	buf, err := r.scalar(nil, tag)
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
		f := math.Float64frombits(uint64(r.i64()))
		switch {
		case math.IsNaN(f):
			buf = append(buf, "NaN"...)
		case math.IsInf(f, 1):
			buf = append(buf, "Infinity"...)
		case math.IsInf(f, -1):
			buf = append(buf, "-Infinity"...)
		default:
			buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
		}
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

// appendCheckedText appends s after checking that PostgreSQL will take it
// as text: valid UTF-8 without NUL characters.
func appendCheckedText(buf, s []byte, what string) ([]byte, error) {
	if i := bytes.IndexByte(s, 0); i >= 0 {
		return buf, fmt.Errorf("%s contains a NUL character (byte offset %d), which PostgreSQL text cannot hold", what, i)
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
		return buf, fmt.Errorf("%s is not valid UTF-8 (byte 0x%02x at offset %d); PostgreSQL would refuse it with SQLSTATE 22021 — send bytes as bytes", what, s[i], i)
	}
	return append(buf, s...), nil
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

// appendYMD appends t's date as PostgreSQL writes it: year (four digits
// at least), month, day, and " BC" apart for years before 1 (added by the
// caller, after the time).
func appendYMD(buf []byte, t time.Time) []byte {
	y := t.Year()
	if y <= 0 {
		y = 1 - y // year 0 is 1 BC
	}
	return fmt.Appendf(buf, "%04d-%02d-%02d", y, int(t.Month()), t.Day())
}

// appendDateText appends a date given as days since 2000-01-01.
func appendDateText(buf []byte, d int32) []byte {
	switch d {
	case dateInfinity:
		return append(buf, "infinity"...)
	case dateNegInfinity:
		return append(buf, "-infinity"...)
	}
	t := civil(int64(d) * 86400)
	buf = appendYMD(buf, t)
	if t.Year() <= 0 {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendClock appends a time of day, given in microseconds, as
// HH:MM:SS.ffffff.
func appendClock(buf []byte, us int64) []byte {
	s := us / 1000000
	return fmt.Appendf(buf, "%02d:%02d:%02d.%06d", s/3600, s/60%60, s%60, us%1000000)
}

// appendTimestampText appends a timestamp given in microseconds since
// 2000-01-01 00:00:00, with "+00" for a timestamptz (the microseconds
// are then UTC).
func appendTimestampText(buf []byte, us int64, tz bool) []byte {
	switch us {
	case timestampInfinity:
		return append(buf, "infinity"...)
	case timestampNegInfinity:
		return append(buf, "-infinity"...)
	}
	secs := floorDiv(us, 1000000)
	t := civil(secs)
	buf = appendYMD(buf, t)
	buf = append(buf, ' ')
	buf = appendClock(buf, int64(t.Hour()*3600+t.Minute()*60+t.Second())*1000000+us-secs*1000000)
	if tz {
		buf = append(buf, "+00"...)
	}
	if t.Year() <= 0 {
		buf = append(buf, " BC"...)
	}
	return buf
}

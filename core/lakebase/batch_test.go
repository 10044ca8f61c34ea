package lakebase

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// This file holds decoders and encoders written from TYPES.md alone, as a
// binding author would write them, and the unit tests of batch.go.
// types_test.go runs every type through PostgreSQL with them.

// --- A FormatColumnar decoder, from TYPES.md ----------------------------

// jsonDoc is a json or jsonb value, decoded with json.Number; a JSON null
// is jsonDoc{nil}, distinct from SQL NULL (nil).
type jsonDoc struct{ V any }

// columnarBatch is a decoded FormatColumnar batch. Values are: nil for
// NULL; bool; int32; int64; float64; string for text and numeric; []byte;
// int32 days since 2000-01-01 for date (math.MaxInt32/MinInt32 for
// ±infinity); int64 µs for time and the timestamps (since midnight, since
// 2000-01-01); [3]int64{months, days, µs} for interval; [16]byte for uuid;
// jsonDoc for json; for arrays, the JSON decoded with json.Number.
type columnarBatch struct {
	kinds, elems []kind
	rows         [][]any
}

func decodeColumnar(b []byte) (*columnarBatch, error) {
	le := binary.LittleEndian
	if len(b) < 16 || string(b[:4]) != "LLCB" {
		return nil, errors.New("no LLCB magic")
	}
	if v := le.Uint16(b[4:]); v != 1 {
		return nil, fmt.Errorf("version %d", v)
	}
	ncols, n := int(le.Uint16(b[6:])), int(le.Uint32(b[8:]))
	if int(le.Uint32(b[12:])) != len(b) {
		return nil, fmt.Errorf("length field %d, batch %d bytes", le.Uint32(b[12:]), len(b))
	}
	out := &columnarBatch{kinds: make([]kind, ncols), elems: make([]kind, ncols), rows: make([][]any, n)}
	for i := range out.rows {
		out.rows[i] = make([]any, ncols)
	}
	off := 16
	align := func() { off = (off + 7) &^ 7 }
	for c := 0; c < ncols; c++ {
		align()
		if off+8 > len(b) {
			return nil, fmt.Errorf("column %d: header past the end", c)
		}
		k, flags, elem, blen := kind(b[off]), b[off+1], kind(b[off+2]), int(le.Uint32(b[off+4:]))
		out.kinds[c], out.elems[c] = k, elem
		off += 8
		var nulls []byte
		if flags&1 != 0 {
			nulls = b[off : off+n]
			off += n
			align()
		}
		if off+blen > len(b) {
			return nil, fmt.Errorf("column %d: body past the end", c)
		}
		body := b[off : off+blen]
		off += blen
		fixed := map[kind]int{kindBool: 1, kindInt32: 4, kindInt64: 8, kindFloat64: 8, kindDate: 4, kindTime: 8,
			kindTimestamp: 8, kindTimestamptz: 8, kindInterval: 16, kindUUID: 16}
		if w, ok := fixed[k]; ok && len(body) != w*n {
			return nil, fmt.Errorf("column %d (%s): %d bytes for %d rows", c, k, len(body), n)
		}
		var texts []string
		switch k {
		case kindText, kindNumeric, kindJSON, kindArray:
			if n > 0 {
				texts = strings.Split(string(body), "\x00")
			}
			if len(texts) != n {
				return nil, fmt.Errorf("column %d: %d texts for %d rows", c, len(texts), n)
			}
		case kindBytes:
			if len(body) < 4*(n+1) {
				return nil, fmt.Errorf("column %d: offsets past the end", c)
			}
		}
		for i := 0; i < n; i++ {
			var v any
			switch k {
			case kindBool:
				v = body[i] != 0
			case kindInt32:
				v = int32(le.Uint32(body[4*i:]))
			case kindInt64:
				v = int64(le.Uint64(body[8*i:]))
			case kindFloat64:
				v = math.Float64frombits(le.Uint64(body[8*i:]))
			case kindDate:
				v = int32(le.Uint32(body[4*i:]))
			case kindTime, kindTimestamp, kindTimestamptz:
				v = int64(le.Uint64(body[8*i:]))
			case kindInterval:
				v = [3]int64{int64(int32(le.Uint32(body[12*n+4*i:]))), int64(int32(le.Uint32(body[8*n+4*i:]))), int64(le.Uint64(body[8*i:]))}
			case kindUUID:
				v = [16]byte(body[16*i:])
			case kindBytes:
				data := body[4*(n+1):]
				from, to := le.Uint32(body[4*i:]), le.Uint32(body[4*(i+1):])
				if from > to || int(to) > len(data) {
					return nil, fmt.Errorf("column %d row %d: offsets %d..%d", c, i, from, to)
				}
				v = bytes.Clone(data[from:to])
			case kindText, kindNumeric:
				v = texts[i]
			case kindJSON, kindArray:
				d := json.NewDecoder(strings.NewReader(texts[i]))
				d.UseNumber()
				var x any
				if err := d.Decode(&x); err != nil {
					return nil, fmt.Errorf("column %d row %d: %v", c, i, err)
				}
				v = x
				if k == kindJSON {
					v = jsonDoc{x}
				}
			default:
				return nil, fmt.Errorf("column %d: unknown kind %d", c, k)
			}
			if nulls != nil && nulls[i] != 0 {
				v = nil
			}
			out.rows[i][c] = v
		}
	}
	if off != len(b) {
		return nil, fmt.Errorf("%d bytes after the last column", len(b)-off)
	}
	return out, nil
}

// batchRows decodes a batch in DefaultFormat and returns its row count.
func batchRows(t *testing.T, b []byte) int {
	t.Helper()
	d, err := decodeColumnar(b)
	if err != nil {
		t.Fatalf("decoding a batch: %v", err)
	}
	return len(d.rows)
}

// --- A FormatPickle checker, from TYPES.md ------------------------------

// checkPickle walks a pickle batch opcode by opcode, as far as TYPES.md
// says a batch may go, checking the stack, the memo and the globals, and
// returns the row count. Python itself decodes the batches in
// TestPythonDecodesPickleBatches.
func checkPickle(b []byte) (rows int, err error) {
	allowed := map[string]bool{}
	for _, g := range pyGlobalNames {
		allowed[g[0]+"."+g[1]] = true
	}
	le := binary.LittleEndian
	if len(b) < 11 || b[0] != opProto || b[1] != 4 || b[2] != opFrame || int(le.Uint64(b[3:])) != len(b)-11 {
		return 0, errors.New("no PROTO 4 and FRAME spanning the rest")
	}
	type item struct {
		list  int // elements, for a list
		isStr string
		mark  bool
	}
	var stack []item
	var memo []item
	pop := func() (item, error) {
		if len(stack) == 0 || stack[len(stack)-1].mark {
			return item{}, errors.New("stack underflow")
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return it, nil
	}
	toMark := func() ([]item, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].mark {
				items := stack[i+1:]
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, errors.New("no mark")
	}
	i := 11
	need := func(n int) ([]byte, error) {
		if i+n > len(b) {
			return nil, errors.New("truncated")
		}
		s := b[i : i+n]
		i += n
		return s, nil
	}
	for i < len(b) {
		op := b[i]
		i++
		var arg []byte
		switch op {
		case opMark:
			stack = append(stack, item{mark: true})
		case opNone, opNewTrue, opNewFalse:
			stack = append(stack, item{})
		case opBinInt1:
			if _, err = need(1); err == nil {
				stack = append(stack, item{})
			}
		case opBinInt:
			if _, err = need(4); err == nil {
				stack = append(stack, item{})
			}
		case opLong1:
			if arg, err = need(1); err == nil {
				if _, err = need(int(arg[0])); err == nil {
					stack = append(stack, item{})
				}
			}
		case opBinFloat:
			if _, err = need(8); err == nil {
				stack = append(stack, item{})
			}
		case opShortBinString, opShortBinBytes:
			if arg, err = need(1); err == nil {
				if arg, err = need(int(arg[0])); err == nil {
					stack = append(stack, item{isStr: string(arg)})
				}
			}
		case opBinUnicode, opBinBytes:
			if arg, err = need(4); err == nil {
				if arg, err = need(int(le.Uint32(arg))); err == nil {
					stack = append(stack, item{isStr: string(arg)})
				}
			}
		case opEmptyList:
			stack = append(stack, item{list: 0})
		case opAppends:
			var items []item
			if items, err = toMark(); err == nil {
				if len(stack) == 0 {
					err = errors.New("APPENDS without a list")
				} else {
					stack[len(stack)-1].list += len(items)
					if len(stack) == 2 { // [version, rows]
						rows += len(items)
					}
				}
			}
		case opTuple:
			if _, err = toMark(); err == nil {
				stack = append(stack, item{})
			}
		case opTuple1, opTuple2, opTuple3:
			for k := 0; k < int(op-opTuple1)+1 && err == nil; k++ {
				_, err = pop()
			}
			stack = append(stack, item{})
		case opStackGlobal:
			var mod, name item
			if name, err = pop(); err == nil {
				if mod, err = pop(); err == nil && !allowed[mod.isStr+"."+name.isStr] {
					err = fmt.Errorf("global %s.%s is not in TYPES.md's list", mod.isStr, name.isStr)
				}
			}
			stack = append(stack, item{})
		case opMemoize:
			if len(stack) == 0 {
				err = errors.New("MEMOIZE on an empty stack")
			} else {
				memo = append(memo, stack[len(stack)-1])
			}
		case opBinGet:
			if arg, err = need(1); err == nil {
				if int(arg[0]) >= len(memo) {
					err = fmt.Errorf("BINGET %d of %d", arg[0], len(memo))
				} else {
					stack = append(stack, memo[arg[0]])
				}
			}
		case opReduce:
			if _, err = pop(); err == nil {
				_, err = pop()
			}
			stack = append(stack, item{})
		case opStop:
			if i != len(b) {
				return 0, errors.New("bytes after STOP")
			}
			if len(stack) != 1 {
				return 0, fmt.Errorf("%d items on the stack at STOP", len(stack))
			}
			return rows, nil
		default:
			return 0, fmt.Errorf("opcode 0x%02x at %d is not one TYPES.md lists", op, i-1)
		}
		if err != nil {
			return 0, fmt.Errorf("at byte %d: %w", i, err)
		}
	}
	return 0, errors.New("no STOP")
}

// --- A parameter encoder, from TYPES.md ---------------------------------

// pv is a parameter as a binding holds it: a tag (0 for NULL, else a
// kind) and a payload: string or []byte for text, numeric, json and bytes;
// bool; int32; int64 (also µs for time and the timestamps); float64; int32
// days for date; [3]int64{months, days, µs} for interval; [16]byte for
// uuid; []pv for an array.
type pv struct {
	tag kind
	v   any
}

var pNull = pv{}

func pText(s string) pv           { return pv{kindText, s} }
func pNum(s string) pv            { return pv{kindNumeric, s} }
func pJSON(s string) pv           { return pv{kindJSON, s} }
func pBytes(b ...byte) pv         { return pv{kindBytes, b} }
func pBool(b bool) pv             { return pv{kindBool, b} }
func pInt(n int64) pv             { return pv{kindInt64, n} }
func pInt32(n int32) pv           { return pv{kindInt32, n} }
func pFloat(f float64) pv         { return pv{kindFloat64, f} }
func pDays(d int32) pv            { return pv{kindDate, d} }
func pTime(us int64) pv           { return pv{kindTime, us} }
func pTS(us int64) pv             { return pv{kindTimestamp, us} }
func pTSTZ(us int64) pv           { return pv{kindTimestamptz, us} }
func pInterval(m, d, us int64) pv { return pv{kindInterval, [3]int64{m, d, us}} }
func pUUID(u [16]byte) pv         { return pv{kindUUID, u} }
func pArr(elems ...pv) pv         { return pv{kindArray, elems} }

// encodeParams is a binding's parameter encoder.
func encodeParams(params ...pv) []byte {
	le := binary.LittleEndian
	b := []byte("LLPB")
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, uint16(len(params)))
	var value func(p pv)
	value = func(p pv) {
		b = append(b, byte(p.tag))
		switch x := p.v.(type) {
		case nil:
		case string:
			b = le.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case []byte:
			b = le.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		case bool:
			b = append(b, b2u8(x))
		case int32:
			b = le.AppendUint32(b, uint32(x))
		case int64:
			b = le.AppendUint64(b, uint64(x))
		case float64:
			b = le.AppendUint64(b, math.Float64bits(x))
		case [3]int64:
			b = le.AppendUint64(b, uint64(x[2]))
			b = le.AppendUint32(b, uint32(int32(x[1])))
			b = le.AppendUint32(b, uint32(int32(x[0])))
		case [16]byte:
			b = append(b, x[:]...)
		case []pv:
			b = le.AppendUint32(b, uint32(len(x)))
			for _, e := range x {
				value(e)
			}
		default:
			panic(fmt.Sprintf("pv payload %T", x))
		}
	}
	for _, p := range params {
		value(p)
	}
	return b
}

// Helpers for dates and times as the formats count them.

func days(y int, m time.Month, d int) int32 {
	return int32(floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()-pgEpochUnix, 86400))
}

func micros(t time.Time) int64 {
	return (t.Unix()-pgEpochUnix)*1000000 + int64(t.Nanosecond()/1000)
}

func clock(h, m, s, us int64) int64 { return ((h*60+m)*60+s)*1000000 + us }

// --- Unit tests -----------------------------------------------------------

func TestEncodeBatchErrorsNameColumnAndRow(t *testing.T) {
	cols := []Column{{Name: "a", TypeOID: pgtype.Int4OID, TypeName: "int4"}, {Name: "b", TypeOID: pgtype.DateOID, TypeName: "date"}}
	rows := [][]any{{int32(1), time.Now()}, {int32(2), "not a date"}}
	for _, f := range []Format{FormatColumnar, FormatPickle} {
		_, err := EncodeBatch(f, cols, rows)
		if err == nil || !strings.Contains(err.Error(), `column 1 "b" (date), row 1`) || !strings.Contains(err.Error(), "string") {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := EncodeBatch(FormatColumnar, cols, [][]any{{int32(1)}}); err == nil || !strings.Contains(err.Error(), "row 0 has 1 values for 2 columns") {
		t.Errorf("short row: %v", err)
	}
	if _, err := EncodeBatch("xml", cols, nil); err == nil || !strings.Contains(err.Error(), `unknown batch format "xml"`) {
		t.Errorf("unknown format: %v", err)
	}
	big := []Column{{Name: "n", TypeOID: pgtype.Int2OID, TypeName: "int2"}}
	if _, err := EncodeBatch(FormatColumnar, big, [][]any{{int64(1 << 40)}}); err == nil || !strings.Contains(err.Error(), "out of the int32 range") {
		t.Errorf("int out of range: %v", err)
	}
	text := []Column{{Name: "t", TypeOID: pgtype.TextOID, TypeName: "text"}}
	if _, err := EncodeBatch(FormatColumnar, text, [][]any{{"a\x00b"}}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("NUL in text: %v", err)
	}
}

func TestEncodeBatchEmpty(t *testing.T) {
	cols := []Column{{Name: "a", TypeOID: pgtype.TextOID}, {Name: "b", TypeOID: pgtype.ByteaOID}, {Name: "c", TypeOID: pgtype.IntervalOID}}
	b, err := EncodeBatch(FormatColumnar, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeColumnar(b)
	if err != nil || len(d.rows) != 0 || len(d.kinds) != 3 {
		t.Fatalf("%v %+v", err, d)
	}
	p, err := EncodeBatch(FormatPickle, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := checkPickle(p); err != nil || n != 0 {
		t.Fatalf("pickle: %d rows, %v", n, err)
	}
	if _, err := EncodeBatch(FormatColumnar, nil, [][]any{{}, {}}); err != nil {
		t.Fatal(err) // no columns, two rows: "SELECT FROM t"
	}
}

func TestNumericText(t *testing.T) {
	cases := []struct {
		n    pgtype.Numeric
		want string
	}{
		{pgtype.Numeric{Int: big.NewInt(150), Exp: -2, Valid: true}, "1.50"},
		{pgtype.Numeric{Int: big.NewInt(-150), Exp: -2, Valid: true}, "-1.50"},
		{pgtype.Numeric{Int: big.NewInt(5), Exp: -3, Valid: true}, "0.005"},
		{pgtype.Numeric{Int: big.NewInt(-5), Exp: -3, Valid: true}, "-0.005"},
		{pgtype.Numeric{Int: big.NewInt(0), Exp: -2, Valid: true}, "0.00"},
		{pgtype.Numeric{Int: big.NewInt(12), Exp: 3, Valid: true}, "12000"},
		{pgtype.Numeric{Int: big.NewInt(0), Exp: 3, Valid: true}, "0"},
		{pgtype.Numeric{Exp: 0, Valid: true}, "0"},
		{pgtype.Numeric{NaN: true, Valid: true}, "NaN"},
		{pgtype.Numeric{InfinityModifier: pgtype.Infinity, Valid: true}, "Infinity"},
		{pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, "-Infinity"},
	}
	long, _ := new(big.Int).SetString("-1234567890123456789012345678901234567890", 10)
	cases = append(cases, struct {
		n    pgtype.Numeric
		want string
	}{pgtype.Numeric{Int: long, Exp: -45, Valid: true}, "-0.000001234567890123456789012345678901234567890"})
	for _, c := range cases {
		got, err := appendNumeric([]byte("x"), c.n)
		if err != nil || string(got) != "x"+c.want {
			t.Errorf("%+v: %q %v, want %q", c.n, got, err, c.want)
		}
	}
}

func TestDecodeParamsErrors(t *testing.T) {
	ok := encodeParams(pInt(1), pText("x"))
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, `not a parameter list`},
		{"magic", []byte("XXXX\x01\x00\x00\x00"), `not a parameter list`},
		{"version", []byte("LLPB\x02\x00\x00\x00"), `version 2`},
		{"truncated", ok[:len(ok)-1], `parameter $2: the parameter list ends`},
		{"trailing", append(bytes.Clone(ok), 0), `1 bytes after the last of 2`},
		{"tag", encodeParams(pInt(1), pv{99, nil}), `parameter $2: unknown value tag 99`},
		{"bool", []byte("LLPB\x01\x00\x01\x00\x02\x07"), `parameter $1: a bool must be the byte 0 or 1`},
		{"utf8", encodeParams(pNull, pv{kindText, []byte{'a', 0xff, 'b'}}), `parameter $2: text is not valid UTF-8 (byte 0xff at offset 1); PostgreSQL would refuse it with SQLSTATE 22021`},
		{"nul", encodeParams(pText("a\x00b")), `parameter $1: text contains a NUL character (byte offset 1)`},
		{"numeric", encodeParams(pNum("1.2.3")), `parameter $1: numeric "1.2.3" is not a decimal number`},
		{"json", encodeParams(pJSON("{")), `parameter $1: JSON text "{" is not valid JSON`},
		{"time", encodeParams(pTime(86400_000001)), `parameter $1: time of day 86400000001 µs`},
		{"array element", encodeParams(pArr(pText("ok"), pv{kindText, []byte{0xc3}})), `parameter $1: element 1: text is not valid UTF-8`},
		{"huge length", []byte("LLPB\x01\x00\x01\x00\x01\xff\xff\xff\xff"), `parameter $1: the parameter list ends`},
		{"array count", []byte("LLPB\x01\x00\x01\x00\x0f\xff\xff\xff\x7f"), `parameter $1: the parameter list ends`},
		{"deep", encodeParams(pArr(pArr(pArr(pArr(pArr(pArr(pArr()))))))), `nested over 6 levels`},
	}
	for _, c := range cases {
		_, err := DecodeParams(FormatColumnar, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeParams("xml", ok); err == nil || !strings.Contains(err.Error(), `unknown format "xml"`) {
		t.Errorf("format: %v", err)
	}
	for _, f := range []Format{FormatColumnar, FormatPickle} {
		if got, err := DecodeParams(f, ok); err != nil || len(got) != 2 || got[0] != "1" || got[1] != "x" {
			t.Errorf("%s: %#v %v", f, got, err)
		}
	}
}

func TestDecodeParamsTextForms(t *testing.T) {
	u := [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	data := encodeParams(pNull, pBool(true), pInt32(-7), pInt(math.MinInt64), pFloat(math.Inf(-1)), pFloat(0.1), pFloat(2),
		pNum("-1.50E+3"), pDays(days(-43, 3, 15)), pDays(math.MaxInt32), pTime(clock(24, 0, 0, 0)),
		pTS(micros(time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC))), pTSTZ(micros(time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC))),
		pInterval(-1, 2, -3000004), pUUID(u), pJSON(`{"a": [1, null]}`),
		pArr(pText(`a"b\c`), pNull, pBytes(0, 1), pArr()), pBytes(0, 255))
	got, err := DecodeParams(FormatColumnar, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{nil, "true", "-7", "-9223372036854775808", "-Infinity", "0.1", "2",
		"-1.50E+3", "0044-03-15 BC", "infinity", "24:00:00.000000",
		"2020-01-02 03:04:05.000006", "0001-12-31 23:59:59.000000+00 BC",
		"-1 mons 2 days -3000004 microseconds", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `{"a": [1, null]}`,
		`{"a\"b\\c",NULL,"\\x0001",{}}`, byteaParam{0, 255}}
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		if fmt.Sprintf("%#v", got[i]) != fmt.Sprintf("%#v", want[i]) {
			t.Errorf("$%d: %#v, want %#v", i+1, got[i], want[i])
		}
	}
	if tv, _ := got[len(got)-1].(byteaParam).TextValue(); tv.String != `\x00ff` {
		t.Errorf("bytea text form %q", tv.String)
	}
}

// FuzzDecodeParams checks that no input makes DecodeParams panic, and that
// what it accepts re-encodes (every string is valid UTF-8 without NUL).
func FuzzDecodeParams(f *testing.F) {
	f.Add(encodeParams(pInt(1), pText("x"), pNull))
	f.Add(encodeParams(pArr(pArr(pNum("1")), pNull), pBytes(0), pInterval(1, 2, 3)))
	f.Add(encodeParams(pDays(0), pTS(0), pTSTZ(-1), pTime(0), pJSON("[]"), pFloat(math.NaN())))
	f.Fuzz(func(t *testing.T, data []byte) {
		params, err := DecodeParams(FormatColumnar, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lakebase: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		for i, p := range params {
			if s, ok := p.(string); ok && (strings.IndexByte(s, 0) >= 0 || !validUTF8(s)) {
				t.Fatalf("$%d: %q is not text PostgreSQL accepts", i+1, s)
			}
		}
	})
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

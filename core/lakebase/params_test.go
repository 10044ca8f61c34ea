package lakebase

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// This file holds a parameter encoder written from TYPES.md alone, as a
// binding author would write it, and the tests of DecodeParams.

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

// TestUntypedParameters shows what a placeholder without a type, which
// the server takes for text, returns.
func TestUntypedParameters(t *testing.T) {
	c := typesConn(t, true)
	params, err := DecodeParams(FormatPickle, encodeParams(pInt(42), pBytes(0, 1), pArr(pInt(1), pNull), pNull, pBool(true), pFloat(0.5)))
	if err != nil {
		t.Fatal(err)
	}
	_, rows := query(t, c, "SELECT $1, $2, $3, $4, $5, $6", params...)
	if want := []any{"42", `\x0001`, "{\"1\",NULL}", nil, "true", "0.5"}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("got %#v, want %#v", rows[0], want)
	}
	_, rows = query(t, c, "SELECT $1 + 1, $2 || 'x'::bytea", params[0], params[1])
	if want := []any{int32(43), []byte{0, 1, 'x'}}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("typed by context: got %#v, want %#v", rows[0], want)
	}
}

// TestInvalidUTF8 checks that text that is not UTF-8 is refused by
// DecodeParams, naming the parameter, before PostgreSQL refuses it with
// SQLSTATE 22021.
func TestInvalidUTF8(t *testing.T) {
	c := typesConn(t, true)
	_, err := DecodeParams(FormatColumnar, encodeParams(pText("ok"), pv{kindText, []byte("caf\xe9")}))
	if err == nil || !strings.Contains(err.Error(), "parameter $2: text is not valid UTF-8 (byte 0xe9 at offset 3)") {
		t.Errorf("DecodeParams: %v", err)
	}
	// What PostgreSQL says when the bytes reach it.
	_, err = c.Exec(context.Background(), "SELECT $1::text", []byte("caf\xe9"))
	if err == nil || !strings.Contains(err.Error(), "22021") {
		t.Errorf("PostgreSQL: %v, want SQLSTATE 22021", err)
	}
}

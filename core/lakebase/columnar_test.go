package lakebase

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// This file holds a FormatColumnar decoder written from TYPES.md alone, as
// a binding author would write it; types_test.go runs every type through
// PostgreSQL with it.

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

package lakebase

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

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

// TestEveryKindHasEncoders checks that both batch formats have an encoder
// for every kind of the type table, and that both report an unknown kind
// as an error rather than a panic.
func TestEveryKindHasEncoders(t *testing.T) {
	for k := kindText; k <= kindArray; k++ {
		if int(k) >= len(columnEncoders) || columnEncoders[k] == nil {
			t.Errorf("no columnar encoder for kind %s", k)
		}
		if k != kindArray && (int(k) >= len(pickleValues) || pickleValues[k] == nil) {
			t.Errorf("no pickler for kind %s", k)
		}
	}
	if err := (&pickler{}).value(columnType{kind: kindArray + 1}, 1); err == nil {
		t.Error("a pickler took an unknown kind")
	}
}

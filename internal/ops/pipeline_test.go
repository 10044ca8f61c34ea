package ops

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lakelink/lakelink/core/lakebase"
)

// piece is a u32 length and b, a part of a pipeline's statements.
func piece(b []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestDecodePipeline(t *testing.T) {
	params := []byte("LLPB\x01\x00\x01\x00\x03\x2a\x00\x00\x00") // one int32, 42
	good := append(piece([]byte("SELECT $1::int")), piece(params)...)
	good = append(good, append(piece([]byte("SELECT 1")), piece(nil)...)...)
	stmts, argErrs, err := decodePipeline(good)
	if err != nil || len(stmts) != 2 || argErrs[0] != nil || argErrs[1] != nil || len(stmts[0].Args) != 1 || stmts[1].Args != nil {
		t.Fatalf("%+v %v %v", stmts, argErrs, err)
	}
	// Parameters that do not decode fail their statement only.
	bad := append(piece([]byte("SELECT $1::int")), piece(params[:len(params)-1])...)
	stmts, argErrs, err = decodePipeline(append(bad, good...))
	var argErr *ArgumentError
	if err != nil || len(stmts) != 3 || !errors.As(argErrs[0], &argErr) || argErrs[1] != nil {
		t.Fatalf("bad parameters: %v %v", argErrs, err)
	}
	for name, c := range map[string]struct {
		buf  []byte
		want string
	}{
		"a length cut":        {good[:2], "statement 0: the buffer ends inside the length of its SQL"},
		"SQL past the end":    {good[:10], "statement 0: the length of its SQL, 14, runs past the buffer's end"},
		"no parameters' part": {append(good, piece([]byte("SELECT 2"))...), "statement 2: the buffer ends inside the length of its parameters"},
		"not UTF-8":           {append(piece([]byte("SELECT '\xe9'")), piece(nil)...), "statement 0: its SQL is not valid UTF-8"},
		"a NUL":               {append(piece([]byte("SELECT 1\x00; DROP")), piece(nil)...), "without NUL"},
	} {
		_, _, err := decodePipeline(c.buf)
		if !errors.As(err, &argErr) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an ArgumentError with %q", name, err, c.want)
		}
	}
}

// TestEncodePipeline: each answer carries its own statement's columns,
// whether the one before it had the same columns (their JSON is reused),
// others, or failed; batches start at multiples of 8 bytes.
func TestEncodePipeline(t *testing.T) {
	n := []lakebase.Column{{Name: "n", TypeOID: 23, TypeName: "int4"}}
	s := []lakebase.Column{{Name: "s", TypeOID: 25, TypeName: "text"}}
	answer := func(cols []lakebase.Column, tag string, batches ...string) lakebase.Piped {
		p := lakebase.Piped{Columns: cols, Tag: pgconn.NewCommandTag(tag)}
		for _, b := range batches {
			p.Batches = append(p.Batches, []byte(b))
		}
		return p
	}
	piped := []lakebase.Piped{
		answer(n, "SELECT 1", "abc"), answer(n, "SELECT 1", "de"), answer(s, "SELECT 2", "f", "gh"),
		{Err: &ArgumentError{Message: "no"}}, answer(s, "SELECT 0"), answer(n, "INSERT 0 3"),
	}
	out, err := encodePipeline(piped)
	if err != nil {
		t.Fatal(err)
	}
	at := 0
	u32 := func() int {
		at += 4
		return int(binary.LittleEndian.Uint32(out[at-4:]))
	}
	text := func() string {
		k := u32()
		at += k
		return string(out[at-k : at])
	}
	var got []string
	for at < len(out) {
		at++
		if out[at-1] == pipedFailed {
			got = append(got, "failed "+text())
			continue
		}
		cols, command := text(), text()
		rows := binary.LittleEndian.Uint64(out[at:])
		at += 8
		var data []string
		for range u32() {
			k := u32()
			at = (at + 7) &^ 7 // a batch starts at a multiple of 8
			data = append(data, string(out[at:at+k]))
			at += k
		}
		got = append(got, fmt.Sprint(cols, " ", command, " ", rows, " ", data))
	}
	failure, _ := json.Marshal(Of(piped[3].Err, Database))
	want := []string{
		`[{"name":"n","type_oid":23,"type_name":"int4"}] SELECT 1 1 [abc]`,
		`[{"name":"n","type_oid":23,"type_name":"int4"}] SELECT 1 1 [de]`,
		`[{"name":"s","type_oid":25,"type_name":"text"}] SELECT 2 2 [f gh]`,
		"failed " + string(failure),
		`[{"name":"s","type_oid":25,"type_name":"text"}] SELECT 0 0 []`,
		`[{"name":"n","type_oid":23,"type_name":"int4"}] INSERT 0 3 3 []`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("answers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

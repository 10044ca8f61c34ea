package ops

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
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

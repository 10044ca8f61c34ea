package apps

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestReadToken(t *testing.T) {
	tok := readToken(fakeJWT(map[string]any{"sub": "6f1c2a3b-1234-4abc-9def-0123456789ab", "scp": []string{"a", "b"}, "exp": 2000000000}))
	if !tok.Readable || tok.principal() != "service principal 6f1c2a3b-1234-4abc-9def-0123456789ab" ||
		tok.scopeList() != "a b" || !tok.ExpiresAt.Equal(time.Unix(2000000000, 0)) {
		t.Errorf("readToken: %+v", tok)
	}
	padded := "eyJhbGciOiJub25lIn0." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"x@y.z"}`)) + ".sig"
	if tok := readToken(padded); tok.principal() != "user x@y.z" || tok.scopeList() != "none named (the token has no scope claim)" {
		t.Errorf("padded: %+v", tok)
	}
	for _, opaque := range []string{"", "dapi1234567890", "a.b.c", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c"} {
		if tok := readToken(opaque); tok.Readable || tok.principal() != "the token's principal" {
			t.Errorf("readToken(%q) = %+v", opaque, tok)
		}
	}
}

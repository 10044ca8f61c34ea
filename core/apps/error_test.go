package apps

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorText(t *testing.T) {
	e := &Error{Op: "GET https://h/api/x", Status: 403, Message: "nope", Kind: KindForbidden, Diagnosis: "Ask."}
	if got := e.Error(); got != "GET https://h/api/x: 403 Forbidden: nope\nAsk." {
		t.Errorf("Error() = %q", got)
	}
	inner := errors.New("dial tcp: boom")
	e = &Error{Op: "GET https://h/api/x", Message: "dial tcp: boom", Kind: KindNetwork, Err: inner}
	if got := e.Error(); got != "GET https://h/api/x: dial tcp: boom" || !errors.Is(e, inner) {
		t.Errorf("Error() = %q", got)
	}
	e = &Error{Op: "GET https://h/api/x?t=abcdef.ghi.signature-part-long", Message: "echo abcdef.ghi.signature-part-long and signature-part-long"}
	e.scrub("abcdef.ghi.signature-part-long")
	if strings.Contains(e.Error(), "signature-part-long") {
		t.Errorf("scrub left the token: %q", e.Error())
	}
}

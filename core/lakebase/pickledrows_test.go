package lakebase

import (
	"errors"
	"math"
	"testing"
)

// Pickles made by Python 3.11's pickle.dumps(obj, 5).
const (
	// [(1, 300, 70000, -5, 2**40, -2**70, 2**80),
	//  (nan, inf, -0.5, 1e300, None, True, False),
	//  ["tab\tnl\nbs\\cr\r", "é€😀", b"\x00\\\xff", s, s, "", b""]] with s = "same" (memoized)
	pickledRows = "\x80\x05\x95\x96\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x28\x28\x4b\x01\x4d\x2c\x01\x4a\x70\x11\x01\x00\x4a\xfb\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0\x8a\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x74\x94\x28\x47\x7f\xf8\x00\x00\x00\x00\x00\x00\x47\x7f\xf0\x00\x00\x00\x00\x00\x00\x47\xbf\xe0\x00\x00\x00\x00\x00\x00\x47\x7e\x37\xe4\x3c\x88\x00\x75\x9c\x4e\x88\x89\x74\x94\x5d\x94\x28\x8c\x0d\x74\x61\x62\x09\x6e\x6c\x0a\x62\x73\x5c\x63\x72\x0d\x94\x8c\x09\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x94\x43\x03\x00\x5c\xff\x94\x8c\x04\x73\x61\x6d\x65\x94\x68\x07\x8c\x00\x94\x43\x00\x94\x65\x65\x2e"
)

func TestPickledRows(t *testing.T) {
	got, n, err := appendPickledRows([]byte("before\n"), []byte(pickledRows))
	if err != nil || n != 3 {
		t.Fatalf("%d rows, %v", n, err)
	}
	want := "before\n" +
		"1\t300\t70000\t-5\t1099511627776\t-1180591620717411303424\t1208925819614629174706176\n" +
		"NaN\tInfinity\t-0.5\t1e+300\t\\N\ttrue\tfalse\n" +
		"tab\\tnl\\nbs\\\\cr\\r\té€😀\t\\\\x005cff\tsame\tsame\t\t\\\\x\n"
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// The same rows as parameter rows give the same text.
	params := append(append(encodeParams(pInt(1), pInt(300), pInt(70000), pInt(-5), pInt(1<<40), pNum("-1180591620717411303424"), pNum("1208925819614629174706176")),
		encodeParams(pFloat(math.NaN()), pFloat(math.Inf(1)), pFloat(-0.5), pFloat(1e300), pNull, pBool(true), pBool(false))...),
		encodeParams(pText("tab\tnl\nbs\\cr\r"), pText("é€😀"), pBytes(0, '\\', 0xff), pText("same"), pText("same"), pText(""), pBytes())...)
	w := &CopyIn{}
	r := &paramReader{data: params}
	for r.off < len(params) {
		if w.buf, w.tmp, err = appendCopyTextRow(w.buf, w.tmp, r); err != nil {
			t.Fatal(err)
		}
	}
	if "before\n"+string(w.buf) != want {
		t.Errorf("parameter rows give\n%q", w.buf)
	}
	for name, p := range map[string]string{
		"a dict":      "\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x7d\x94\x85\x94\x61\x2e",
		"a list cell": "\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x5d\x94\x4b\x01\x61\x85\x94\x61\x2e",
		"a tuple":     "\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00\x4b\x01\x85\x94\x85\x94\x2e",
		"an int row":  "\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x4b\x01\x61\x2e",
		"truncated":   pickledRows[:50],
		"empty":       "",
	} {
		got, _, err := appendPickledRows([]byte("x"), []byte(p))
		if err == nil || string(got) != "x" {
			t.Errorf("%s: %q, %v; want an error and nothing appended", name, got, err)
		}
		if name != "truncated" && name != "empty" && !errors.Is(err, ErrPickledRowsUnsupported) {
			t.Errorf("%s: %v, want ErrPickledRowsUnsupported", name, err)
		}
	}
}

func FuzzPickledRows(f *testing.F) {
	f.Add([]byte(pickledRows))
	f.Fuzz(func(t *testing.T, data []byte) {
		appendPickledRows(nil, data) // must not panic or hang
	})
}

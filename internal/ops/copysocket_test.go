package ops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// copyFrame is a COPY socket's frame (TYPES.md, "COPY sockets").
func copyFrame(kind byte, body string) []byte {
	return append(binary.LittleEndian.AppendUint32([]byte{kind}, uint32(len(body))), body...)
}

// TestCopyFrameReader: the data of data frames, split however the socket
// delivers it, ends at the done frame; a fail frame is its reason; a
// socket that ends first, or a frame of another kind, is an error (the
// COPY fails, the server rolls it back).
func TestCopyFrameReader(t *testing.T) {
	var in []byte
	in = append(in, copyFrame(copyFrameData, "1\ta\n2\tb\n")...)
	in = append(in, copyFrame(copyFrameData, "")...)
	in = append(in, copyFrame(copyFrameData, strings.Repeat("3\tc\n", 1000))...)
	in = append(in, copyFrame(copyFrameDone, "")...)
	in = append(in, "anything after is not read"...)
	got, err := io.ReadAll(newCopyFrameReader(iotest.OneByteReader(bytes.NewReader(in))))
	if err != nil {
		t.Fatal(err)
	}
	if want := "1\ta\n2\tb\n" + strings.Repeat("3\tc\n", 1000); string(got) != want {
		t.Fatalf("read %d bytes, want %d", len(got), len(want))
	}

	// Frames delivered together are read together: full messages for the server.
	in = append(append(append(copyFrame(copyFrameData, "1\n"), copyFrame(copyFrameData, "2\n")...),
		copyFrame(copyFrameData, "3\n")...), copyFrame(copyFrameDone, "")...)
	r := newCopyFrameReader(bytes.NewReader(in))
	p := make([]byte, 100)
	if n, err := r.Read(p); err != nil || string(p[:n]) != "1\n2\n3\n" {
		t.Fatalf("one read of three frames: %q, %v", p[:n], err)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("after the done frame: %d, %v", n, err)
	}

	for _, c := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"a fail frame", append(copyFrame(copyFrameData, "1\n"), copyFrame(copyFrameFail, "error from Node: stop")...), "error from Node: stop"},
		{"the end inside a frame's head", copyFrame(copyFrameData, "1\n")[:3], "the COPY's socket closed before the COPY's end"},
		{"the end inside a data frame", copyFrame(copyFrameData, "1\t2\n")[:7], "the COPY's socket closed before the COPY's end"},
		{"the end without a done frame", copyFrame(copyFrameData, "1\n"), "the COPY's socket closed before the COPY's end"},
		{"the end inside a fail frame's reason", copyFrame(copyFrameFail, "stop")[:6], "the COPY's socket closed before the COPY's end"},
		{"a frame of another kind", copyFrame('x', ""), "lakelink: a COPY frame of kind 120 (want d, c or f)"},
	} {
		_, err := io.ReadAll(newCopyFrameReader(bytes.NewReader(c.in)))
		if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}

//go:build unix

package ops

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"
)

// request frames a pipeline request (TYPES.md, "Pipeline channels").
func request(id, handle uint64, format, userToken string, statements []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(requestHead+len(format)+4+len(userToken)+len(statements)))
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint64(b, handle)
	b = binary.LittleEndian.AppendUint32(b, 100)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(format)))
	b = append(b, format...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(userToken)))
	b = append(b, userToken...)
	return append(b, statements...)
}

// readAnswer reads one answer: its id, status and body.
func readAnswer(t *testing.T, r io.Reader) (id uint64, status Code, body []byte) {
	t.Helper()
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, binary.LittleEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r, frame); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(frame), Code(int32(binary.LittleEndian.Uint32(frame[8:]))), frame[12:]
}

// TestPipelineChannel: requests are answered by id, their errors as
// JSON, requests that do not frame too (the channel goes on); a request's
// user token reaches the runner's lookup; closing
// the caller's end ends the channel's goroutines. The pipelines
// themselves run against a server in capi/tests/async.c and the Node
// binding's tests.
func TestPipelineChannel(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	runnerOf := func(h uint64, userToken string) (Pipeliner, error) {
		if userToken == "user-token" {
			return nil, &HandleError{Message: fmt.Sprint("no pool ", h, " for the user")}
		}
		return nil, &HandleError{Message: fmt.Sprint("no session ", h)}
	}
	fd, err := OpenPipelineChannel(runnerOf)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "channel")
	var out []byte
	for id := uint64(1); id <= 4; id++ {
		out = append(out, request(id, id, "", "", nil)...)
	}
	out = append(out, request(5, 5, "columnar", "user-token", nil)...)
	out = append(out, 3, 0, 0, 0, 9, 9, 9) // too short for a head: answered as id 0
	unframed := request(6, 6, "columnar", "", nil)
	binary.LittleEndian.PutUint32(unframed[4+20:], 22) // its format's length runs past its end
	out = append(out, unframed...)
	unframed = request(7, 7, "", "x", nil)
	binary.LittleEndian.PutUint32(unframed[4+24:], 2) // its user token's length runs past its end
	out = append(out, unframed...)
	if _, err := f.Write(out); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]Failure{}
	for range 8 {
		id, status, body := readAnswer(t, f)
		var fail Failure
		if err := json.Unmarshal(body, &fail); err != nil {
			t.Fatalf("answer %d: %v: %q", id, err, body)
		}
		if fail.Code != status {
			t.Errorf("answer %d: status %d, code %d", id, status, fail.Code)
		}
		got[id] = fail
	}
	for id := uint64(1); id <= 4; id++ {
		if f := got[id]; f.Code != InvalidHandle || f.Message != fmt.Sprint("no session ", id) {
			t.Errorf("answer %d: %+v", id, f)
		}
	}
	if f := got[5]; f.Code != InvalidHandle || f.Message != "no pool 5 for the user" {
		t.Errorf("the user's request's answer: %+v", f)
	}
	if f := got[0]; f.Code != InvalidArgument || f.Message != "pipeline request of 3 bytes: shorter than its 24-byte head" {
		t.Errorf("the short request's answer: %+v", f)
	}
	if f := got[6]; f.Code != InvalidArgument || f.Message != "pipeline request: its format's length, 22, runs past its end" {
		t.Errorf("the unframed format's answer: %+v", f)
	}
	if f := got[7]; f.Code != InvalidArgument || f.Message != "pipeline request: its user token's length, 2, runs past its end" {
		t.Errorf("the unframed user token's answer: %+v", f)
	}

	f.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the channel closed, %d before", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPipelineChannelOfAClosedCaller: an answer for a caller that closed
// its end is dropped, and the channel ends.
func TestPipelineChannelOfAClosedCaller(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	release := make(chan struct{})
	fd, err := OpenPipelineChannel(func(uint64, string) (Pipeliner, error) {
		<-release
		return nil, errors.New("late")
	})
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "channel")
	if _, err := f.Write(request(1, 1, "", "", nil)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the channel closed, %d before", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

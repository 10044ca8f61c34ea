// Command capi is liblakelink.so: the C ABI of lakelink's core, built with
// -buildmode=c-shared. lakelink.h, written by hand, is its public header
// and documents every function. This package only marshals: handles,
// C strings and buffers, errors; every operation is internal/ops's (the
// WASI module and the CLI share it), every rule lives in core/.
package main

/*
#cgo CFLAGS: -DLAKELINK_TYPES_ONLY
#cgo linux LDFLAGS: -ldl
#include <stdlib.h>
#include "lakelink.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/internal/ops"
)

func main() {}

// Status codes, as lakelink.h defines them.
const (
	statusOK               = C.LAKELINK_OK
	statusInvalidArgument  = C.LAKELINK_ERR_INVALID_ARGUMENT
	statusInvalidHandle    = C.LAKELINK_ERR_INVALID_HANDLE
	statusConnectionString = C.LAKELINK_ERR_CONNECTION_STRING
	statusAuth             = C.LAKELINK_ERR_AUTH
	statusDatabase         = C.LAKELINK_ERR_DATABASE
	statusApp              = C.LAKELINK_ERR_APP
	statusInternal         = C.LAKELINK_ERR_INTERNAL
)

// call runs an export's body: it clears *errOut, recovers a panic into
// LAKELINK_ERR_INTERNAL, and turns an error into its status and *errOut.
// internal/ops classifies the errors of its operations, and this package's
// own are bad arguments and handles: an error of no recognised kind is a
// bug, LAKELINK_ERR_INTERNAL.
func call(errOut **C.lakelink_error, body func() error) (status C.int32_t) {
	if errOut != nil {
		*errOut = nil
	}
	defer func() {
		if r := recover(); r != nil {
			status = setError(errOut, ops.Panicked(r))
		}
	}()
	if err := body(); err != nil {
		return setError(errOut, err)
	}
	return statusOK
}

// setError classifies err with ops.Of (an error of no recognised kind is
// LAKELINK_ERR_INTERNAL: see call), fills *errOut (when not NULL) with a
// new lakelink_error of its fields, and returns its status.
func setError(errOut **C.lakelink_error, err error) C.int32_t {
	f := ops.Of(err, ops.Internal)
	status := C.int32_t(f.Code)
	if errOut == nil {
		return status
	}
	e := (*C.lakelink_error)(C.calloc(1, C.size_t(unsafe.Sizeof(C.lakelink_error{}))))
	e.code, e.http_status = status, C.int32_t(f.HTTPStatus)
	e.message, e.sqlstate, e.diagnosis = C.CString(f.Message), C.CString(f.SQLState), C.CString(f.Diagnosis)
	e.kind, e.detail, e.hint = C.CString(f.Kind), C.CString(f.Detail), C.CString(f.Hint)
	*errOut = e
	return status
}

//export lakelink_error_free
func lakelink_error_free(e *C.lakelink_error) {
	if e == nil {
		return
	}
	for _, p := range []*C.char{e.message, e.sqlstate, e.diagnosis, e.kind, e.detail, e.hint} {
		C.free(unsafe.Pointer(p))
	}
	C.free(unsafe.Pointer(e))
}

// goString copies a required C string, which must be UTF-8.
func goString(p *C.char, name string) (string, error) {
	if p == nil {
		return "", &ops.ArgumentError{Message: name + " is NULL"}
	}
	return checkUTF8(C.GoString(p), name)
}

// optString copies an optional C string, which must be UTF-8; NULL is "".
func optString(p *C.char, name string) (string, error) {
	if p == nil {
		return "", nil
	}
	return checkUTF8(C.GoString(p), name)
}

// connArg reads the conn_str argument of an operation that needs only it.
func connArg(p *C.char) (r ops.Conn, err error) {
	r.Conn, err = goString(p, "conn_str")
	return r, err
}

// stringArg copies a required C string argument into *dst.
func stringArg(dst *string, p *C.char, name string) (err error) {
	*dst, err = goString(p, name)
	return err
}

// optStringArg copies an optional C string argument into *dst; NULL is "".
func optStringArg(dst *string, p *C.char, name string) (err error) {
	*dst, err = optString(p, name)
	return err
}

// jsonArg decodes a JSON C string argument, which should be what, into
// *dst, the wire type of internal/ops; NULL and "" leave *dst as it is
// unless required.
func jsonArg(dst any, p *C.char, name, what string, required bool) error {
	read := optString
	if required {
		read = goString
	}
	raw, err := read(p, name)
	if err != nil || raw == "" && !required {
		return err
	}
	if err := json.Unmarshal([]byte(raw), dst); err != nil {
		var bad *ops.ArgumentError // a wire type's own complaint
		if errors.As(err, &bad) {
			return &ops.ArgumentError{Message: name + ": " + bad.Message}
		}
		return &ops.ArgumentError{Message: fmt.Sprintf("%s is not %s: %v", name, what, err)}
	}
	return nil
}

// checkUTF8 refuses a string that is not UTF-8 (lakelink.h: strings are
// UTF-8), naming the parameter and the first bad byte, rather than let
// JSON encoding or the server mangle or refuse it later. The string
// itself is not shown: it may be a secret.
func checkUTF8(s, name string) (string, error) {
	if utf8.ValidString(s) {
		return s, nil
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return "", &ops.ArgumentError{Message: fmt.Sprintf("%s is not valid UTF-8 (byte 0x%02x at offset %d)", name, s[i], i)}
		}
		i += size
	}
	return s, nil
}

// goBytes copies a buffer; NULL with length 0 is none.
func goBytes(p *C.uint8_t, n C.int64_t, name string) ([]byte, error) {
	switch {
	case n < 0:
		return nil, &ops.ArgumentError{Message: fmt.Sprintf("%s: negative length %d", name, n)}
	case n == 0:
		return nil, nil
	case p == nil:
		return nil, &ops.ArgumentError{Message: fmt.Sprintf("%s is NULL with length %d", name, n)}
	}
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))), nil
}

// notNull checks a required out-parameter.
func notNull[T any](p *T, name string) error {
	if p == nil {
		return &ops.ArgumentError{Message: name + " is NULL"}
	}
	return nil
}

// setString stores a new C copy of s in *out.
func setString(out **C.char, s string) { *out = C.CString(s) }

// setJSON stores v as a JSON C string in *out.
func setJSON(out **C.char, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	setString(out, string(data))
	return nil
}

// setBytes stores a new C copy of b (NULL when empty) in *out and its
// length in *n.
func setBytes(out **C.uint8_t, n *C.int64_t, b []byte) {
	*out, *n = nil, 0
	if len(b) > 0 {
		*out = (*C.uint8_t)(C.CBytes(b))
		*n = C.int64_t(len(b))
	}
}

// Handle kinds.
type handleKind int

const (
	kindConnection handleKind = iota + 1
	kindResult
	kindPool
	kindCopyFrom
	kindCopyTo
	kindQueue
	kindCall
)

func (k handleKind) String() string {
	switch k {
	case kindConnection:
		return "a connection"
	case kindPool:
		return "a pool"
	case kindCopyFrom:
		return "a COPY FROM STDIN"
	case kindCopyTo:
		return "a COPY TO STDOUT"
	case kindQueue:
		return "a queue"
	case kindCall:
		return "a call"
	}
	return "a result"
}

// handles maps the opaque handles C holds to Go values. Handles start at a
// random point and only grow, so an invented or stale number is almost
// never a live handle, and never 0.
var handles = struct {
	sync.Mutex
	next uint64
	m    map[uint64]handleEntry
}{next: 1 + rand.Uint64N(1<<48), m: map[uint64]handleEntry{}}

type handleEntry struct {
	kind  handleKind
	value any
}

func newHandle(kind handleKind, v any) uint64 {
	handles.Lock()
	defer handles.Unlock()
	h := handles.next
	handles.next++
	handles.m[h] = handleEntry{kind, v}
	return h
}

// lookup returns the value of a live handle of the kind; remove also
// forgets it (close).
func lookup(h uint64, kind handleKind, remove bool) (any, error) {
	handles.Lock()
	defer handles.Unlock()
	e, ok := handles.m[h]
	switch {
	case h == 0:
		return nil, &ops.HandleError{Message: "handle 0 is never valid"}
	case !ok:
		return nil, &ops.HandleError{Message: fmt.Sprintf("handle %d is unknown or closed", h)}
	case e.kind != kind:
		return nil, &ops.HandleError{Message: fmt.Sprintf("handle %d is %s, not %s", h, e.kind, kind)}
	}
	if remove {
		delete(handles.m, h)
	}
	return e.value, nil
}

func connection(h C.uint64_t) (*lakebase.Conn, error) {
	v, err := lookup(uint64(h), kindConnection, false)
	if err != nil {
		return nil, err
	}
	return v.(*lakebase.Conn), nil
}

func result(h C.uint64_t) (*lakebase.Result, error) {
	v, err := lookup(uint64(h), kindResult, false)
	if err != nil {
		return nil, err
	}
	return v.(*lakebase.Result), nil
}

func pool(h C.uint64_t) (*lakebase.Pool, error) {
	v, err := lookup(uint64(h), kindPool, false)
	if err != nil {
		return nil, err
	}
	return v.(*lakebase.Pool), nil
}

func copyFrom(h C.uint64_t) (*lakebase.CopyIn, error) {
	v, err := lookup(uint64(h), kindCopyFrom, false)
	if err != nil {
		return nil, err
	}
	return v.(*lakebase.CopyIn), nil
}

func copyTo(h C.uint64_t) (*lakebase.CopyOut, error) {
	v, err := lookup(uint64(h), kindCopyTo, false)
	if err != nil {
		return nil, err
	}
	return v.(*lakebase.CopyOut), nil
}

// kindOf is the kind of handle h, and whether it is live.
func kindOf(h uint64) (handleKind, bool) {
	handles.Lock()
	defer handles.Unlock()
	e, ok := handles.m[h]
	return e.kind, ok
}

// endCopy forgets copy handle h, of either kind, and returns its value.
func endCopy(h C.uint64_t) (any, error) {
	kind := kindCopyFrom
	if k, _ := kindOf(uint64(h)); k == kindCopyTo { // a handle's kind never changes
		kind = kindCopyTo
	}
	return lookup(uint64(h), kind, true)
}

//go:build wasip1

package main

import (
	"sync"
	"unsafe"
)

// buffers holds every buffer lent to the host, by address, so that the
// garbage collector keeps it until the host gives it back (lakelink_free)
// or the module takes it (the response of the HTTP import).
var buffers = struct {
	sync.Mutex
	m map[uint32][]byte
}{m: map[uint32][]byte{}}

// lend registers b (at least one byte long) and returns its address.
func lend(b []byte) uint32 {
	p := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	buffers.Lock()
	buffers.m[p] = b
	buffers.Unlock()
	return p
}

// take forgets the buffer at p and returns its first n bytes; ok is false
// for an address that is not a lent buffer, or a length beyond it.
func take(p, n uint32) (b []byte, ok bool) {
	buffers.Lock()
	defer buffers.Unlock()
	b, ok = buffers.m[p]
	if !ok || int(n) > len(b) {
		return nil, false
	}
	delete(buffers.m, p)
	return b[:n], true
}

// lakelink_alloc returns a buffer of size bytes (at least one) in the
// module's memory, for the host to write a request or an HTTP response
// into. It stays valid until lakelink_free, or until the module takes it
// (lakelink_call, the HTTP import's response).
//
//go:wasmexport lakelink_alloc
func lakelink_alloc(size uint32) uint32 { return lend(make([]byte, max(size, 1))) }

// lakelink_free returns a buffer the module lent (lakelink_alloc, or the
// result of lakelink_call). 0 and unknown addresses are ignored.
//
//go:wasmexport lakelink_free
func lakelink_free(p uint32) {
	buffers.Lock()
	delete(buffers.m, p)
	buffers.Unlock()
}

// packed lends b (not empty) and returns its address and length as the
// exports return them: address<<32 | length.
func packed(b []byte) uint64 { return uint64(lend(b))<<32 | uint64(len(b)) }

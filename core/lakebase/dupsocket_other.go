//go:build !unix

package lakebase

import "errors"

// socketsShared: outside POSIX a session's socket is not a descriptor its
// caller could read, so no statement is fed (SessionSocket).
const socketsShared = false

// dupSocket fails (socketsShared).
func dupSocket(uintptr) (int, error) {
	return -1, errors.New("lakebase: a session's socket is shared only on POSIX systems")
}

//go:build unix

package lakebase

import "golang.org/x/sys/unix"

// socketsShared: a session's socket is a descriptor its caller can read
// (SessionSocket).
const socketsShared = true

// dupSocket duplicates socket descriptor s, close-on-exec (SessionSocket).
func dupSocket(s uintptr) (int, error) { return unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }

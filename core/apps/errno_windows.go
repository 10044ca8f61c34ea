package apps

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// winsock are the Winsock codes a failed connection carries on Windows,
// for the Unix errors Go's syscall package names (which Go invents there).
var winsock = map[syscall.Errno]syscall.Errno{
	syscall.ECONNREFUSED: windows.WSAECONNREFUSED,
	syscall.ECONNRESET:   windows.WSAECONNRESET,
	syscall.ENETUNREACH:  windows.WSAENETUNREACH,
	syscall.EHOSTUNREACH: windows.WSAEHOSTUNREACH,
}

// errnoIs reports whether err is the system error e, or its Winsock code.
func errnoIs(err error, e syscall.Errno) bool {
	return errors.Is(err, e) || (winsock[e] != 0 && errors.Is(err, winsock[e]))
}

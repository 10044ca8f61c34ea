//go:build !windows

package apps

import (
	"errors"
	"syscall"
)

// errnoIs reports whether err is the system error e.
func errnoIs(err error, e syscall.Errno) bool { return errors.Is(err, e) }

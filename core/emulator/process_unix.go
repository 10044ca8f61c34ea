//go:build unix

package emulator

import (
	"errors"
	"syscall"
)

// runAs is whom PostgreSQL runs as.
type runAs = syscall.Credential

// processAlive reports whether process pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

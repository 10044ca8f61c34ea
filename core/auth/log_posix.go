//go:build !windows

package auth

import "os"

// openAppend opens the Logfile at path for appending, created 0600.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

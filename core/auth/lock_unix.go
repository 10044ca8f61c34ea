//go:build unix

package auth

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on f, shared with every process that
// locks the same file, retrying when a signal interrupts the wait. unlock
// releases it.
func lockFile(f *os.File) (unlock func(), err error) {
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}

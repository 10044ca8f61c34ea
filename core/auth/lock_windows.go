package auth

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockRange is the byte range LockFileEx locks: one byte far beyond the
// end of the file. Windows locks are mandatory, so locking the bytes the
// holder writes its pid into would stop a waiting process reading them.
func lockRange() *windows.Overlapped { return &windows.Overlapped{OffsetHigh: 1 << 30} } // offset 2^62

// tryLock takes an exclusive LockFileEx lock on f without waiting; locked
// is false when another handle holds it. Windows releases it when the
// handle closes, also when the process dies.
func tryLock(f *os.File) (locked bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockRange())
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return err == nil, err
}

// unlockFile releases tryLock's lock.
func unlockFile(f *os.File) { windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockRange()) }

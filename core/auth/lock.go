//go:build !wasip1

package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// lockFile takes an exclusive lock on f (see tryLock), shared with every
// process that locks the same file, waiting at most until ctx is done. The
// holder writes who it is into the file, so that a process that gives up
// waiting can say which process holds the lock. unlock releases it.
func lockFile(ctx context.Context, f *os.File) (unlock func(), err error) {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		locked, err := tryLock(f)
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		if locked {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("gave up waiting for its lock (%w, see Timeout): %s is held by %s; if that process is stuck, end it",
				ctx.Err(), f.Name(), lockHolder(f))
		case <-time.After(wait):
		}
	}
	// Best effort: a full disk leaves the file empty, and only messages lack the name.
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("pid %d (%s) since %s\n", os.Getpid(), filepath.Base(os.Args[0]), time.Now().UTC().Format(time.RFC3339))), 0)
	return func() {
		f.Truncate(0)
		unlockFile(f)
	}, nil
}

// lockHolder names the process holding f's lock, as it wrote itself there.
func lockHolder(f *os.File) string {
	b := make([]byte, 200)
	n, _ := f.ReadAt(b, 0)
	if n == 0 {
		return "a process that did not write its pid there"
	}
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, line)
}

//go:build unix

package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on f, shared with every process that
// locks the same file, waiting at most until ctx is done. The holder writes
// who it is into the file, so that a process that gives up waiting can say
// which process holds the lock. unlock releases it.
func lockFile(ctx context.Context, f *os.File) (unlock func(), err error) {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
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
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
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

// ownerOf returns the user id owning a file.
func ownerOf(fi os.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// linksOf returns a file's number of links (names).
func linksOf(fi os.FileInfo) (n uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Nlink), true
}

// openNonBlocking makes an open return at once, also for a FIFO.
const openNonBlocking = syscall.O_NONBLOCK

// isSymlinkRefusal reports whether an open with O_NOFOLLOW failed because
// the path is a symbolic link (ELOOP; EMLINK on FreeBSD).
func isSymlinkRefusal(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}

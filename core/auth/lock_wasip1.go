//go:build wasip1

package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock serialises token store updates within the module instance.
// WASI preview 1 has no file locks, and an instance is one process of its
// own: a file store shared with other processes is not protected against
// them there. A WASI host should use OAuthSettingsLocation=memory://NAME.
var fileLock = make(chan struct{}, 1)

// lockFile takes the instance-wide lock, waiting at most until ctx is
// done; f is not locked.
func lockFile(ctx context.Context, _ *os.File) (unlock func(), err error) {
	select {
	case fileLock <- struct{}{}:
		return func() { <-fileLock }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("gave up waiting for its lock (%w, see Timeout): another update in this module instance holds it", ctx.Err())
	}
}

// ownerOf: WASI has no file owners.
func ownerOf(os.FileInfo) (uid int, ok bool) { return 0, false }

// linksOf returns a file's number of links (names).
func linksOf(fi os.FileInfo) (n uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Nlink, true
}

// openNonBlocking: WASI preview 1 opens have no such flag, and no FIFOs.
const openNonBlocking = 0

// isSymlinkRefusal reports whether an open with O_NOFOLLOW failed because
// the path is a symbolic link.
func isSymlinkRefusal(err error) bool { return errors.Is(err, syscall.ELOOP) }

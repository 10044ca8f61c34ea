//go:build !windows

package auth

import (
	"fmt"
	"os"
	"syscall"
)

// openFile opens a token store file without following a symbolic link
// (isSymlinkRefusal tells that refusal) and without waiting on a FIFO. A
// file it creates has mode 0600.
func openFile(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW|openNonBlocking, 0o600)
}

// createTemp creates the store's next version in dir, mode 0600.
func createTemp(dir string) (*os.File, error) {
	return os.CreateTemp(dir, ".oauth-tokens-*")
}

// dirAccess refuses a store directory another user controls: one owned by
// another user (root aside), or one others may write to unless it is
// sticky (as /tmp), where others cannot replace the user's files.
func dirAccess(dir string, fi os.FileInfo) error {
	if owner, ok := ownerOf(fi); ok && owner != os.Geteuid() && owner != 0 {
		return fmt.Errorf("token store directory %s is owned by uid %d, not by you: use a directory of yours as OAuthSettingsLocation", dir, owner)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("token store directory %s may be written by other users (mode %v), who could replace the tokens: "+
			"run `chmod go-w %s`, or use a directory of yours as OAuthSettingsLocation", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// fileAccess refuses a regular file f (fi) that is not the user's alone:
// owned by another user, with another name, or with a mode that lets
// others read or write it.
func fileAccess(f *os.File, fi os.FileInfo) error {
	if owner, ok := ownerOf(fi); ok && owner != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by you: lakelink uses only its own files there; remove it", f.Name(), owner)
	}
	if n, ok := linksOf(fi); ok && n == 0 {
		return fmt.Errorf("%s: %w", f.Name(), errReplaced)
	} else if ok && n > 1 {
		return fmt.Errorf("%s has %d links (names): it is, or is linked to, another file; remove it", f.Name(), n)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s may be used by other users (mode %v): run `chmod 600 %s`, or remove it", f.Name(), perm, f.Name())
	}
	return nil
}

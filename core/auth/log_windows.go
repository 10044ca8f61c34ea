package auth

import (
	"os"

	"golang.org/x/sys/windows"
)

// openAppend opens the Logfile at path for appending, created with the
// private DACL (see store_windows.go). It shares deletion and renaming, so
// that the file can be rotated or removed while the process keeps it open,
// as on Unix (os.OpenFile would not share them).
func openAppend(path string) (*os.File, error) {
	sa, err := privateAttributes()
	if err != nil {
		return nil, err
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.FILE_APPEND_DATA|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, sa, windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

package emulator

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// runAs is whom PostgreSQL runs as: on Windows always ourselves
// (unprivilegedCredential returns nil, as os.Geteuid is -1), so unused.
type runAs struct{ Uid, Gid uint32 }

// procAttr: the programs run as ourselves; Windows has no process groups
// of the Unix kind nor a parent-death signal.
func procAttr(*runAs, bool) *syscall.SysProcAttr { return nil }

// processAlive reports whether process pid exists.
func processAlive(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	var code uint32
	return windows.GetExitCodeProcess(h, &code) == nil && code == 259 // STILL_ACTIVE
}

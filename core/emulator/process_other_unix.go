//go:build unix && !linux

package emulator

import "syscall"

// procAttr runs a PostgreSQL program as cred (nil: as ourselves); the
// server (server true) in a process group of its own.
func procAttr(cred *runAs, server bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: server}
}

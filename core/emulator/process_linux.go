package emulator

import "syscall"

// procAttr runs a PostgreSQL program as cred (nil: as ourselves); the
// server (server true) in a process group of its own, stopped by
// Pdeathsig if the emulator is killed outright.
func procAttr(cred *runAs, server bool) *syscall.SysProcAttr {
	if !server {
		return &syscall.SysProcAttr{Credential: cred}
	}
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGINT}
}

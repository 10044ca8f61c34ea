//go:build unix

package ops

import (
	"net"
	"os"
	"syscall"
)

// socketPair makes a connected pair of Unix stream sockets: ours, for Go's
// network poller, and theirs, a descriptor for the caller.
func socketPair() (ours net.Conn, theirs int, err error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, -1, err
	}
	f := os.NewFile(uintptr(fds[0]), "lakelink socket")
	ours, err = net.FileConn(f) // a duplicate of f's descriptor
	f.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, -1, err
	}
	return ours, fds[1], nil
}

// closeDescriptor closes the caller's descriptor of a socket not handed over.
func closeDescriptor(fd int) { syscall.Close(fd) }

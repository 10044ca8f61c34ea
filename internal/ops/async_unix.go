//go:build unix

package ops

import "syscall"

// signal is a non-blocking pipe: its read end is the descriptor callers
// watch; one byte in it makes it readable.
type signal struct{ r, w int }

func newSignal() (signal, error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err := syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return signal{}, err
	}
	for _, fd := range p {
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(p[0])
			syscall.Close(p[1])
			return signal{}, err
		}
	}
	return signal{p[0], p[1]}, nil
}

func (s signal) fd() int { return s.r }

// raise makes the descriptor readable (a full pipe already is).
func (s signal) raise() {
	b := [1]byte{1}
	for {
		if _, err := syscall.Write(s.w, b[:]); err != syscall.EINTR {
			return
		}
	}
}

// clear empties the pipe.
func (s signal) clear() {
	var b [64]byte
	for {
		n, err := syscall.Read(s.r, b[:])
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			return
		}
	}
}

func (s signal) close() error {
	err := syscall.Close(s.r)
	if werr := syscall.Close(s.w); err == nil {
		err = werr
	}
	return err
}

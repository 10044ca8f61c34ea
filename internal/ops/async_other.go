//go:build !unix

package ops

import "errors"

// signal has no descriptor on this platform yet.
type signal struct{}

func newSignal() (signal, error) {
	return signal{}, errors.New("not supported on this platform yet")
}

func (signal) fd() int      { return -1 }
func (signal) raise()       {}
func (signal) clear()       {}
func (signal) close() error { return nil }

//go:build !unix

package ops

import (
	"errors"
	"net"
)

// socketPair: no channel on this platform yet.
func socketPair() (net.Conn, int, error) {
	return nil, -1, errors.New("not supported on this platform yet")
}

func closeDescriptor(int) {}

//go:build !linux

package lakebase

import "net"

// waitOnThread returns c: outside Linux, reads park in Go's network poller.
func waitOnThread(c net.Conn) net.Conn { return c }

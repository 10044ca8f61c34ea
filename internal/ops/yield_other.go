//go:build !linux

package ops

import "runtime"

// yield lets other goroutines run (a thread yield where the OS has none Go calls).
func yield() { runtime.Gosched() }

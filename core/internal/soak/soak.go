// Package soak is what the reliability tests share (see
// bench/RELIABILITY.md): the choice between their short version, which
// `make test` runs, and their long one, which `make soak` runs with
// LAKELINK_SOAK=1; the recording of their figures; and the counting of
// goroutines and open files before and after, to find leaks.
package soak

import (
	"encoding/json"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Env set to 1 selects the long version of every reliability test.
const Env = "LAKELINK_SOAK"

// OutEnv names a file that Record appends its figures to, one JSON object
// per line.
const OutEnv = "LAKELINK_SOAK_OUT"

// Long reports whether the long version runs.
func Long() bool { return os.Getenv(Env) == "1" }

// Pick returns long in the long version, else short.
func Pick[T any](short, long T) T {
	if Long() {
		return long
	}
	return short
}

var outMu sync.Mutex

// Record logs a scenario's figures and appends them to $LAKELINK_SOAK_OUT
// when it is set.
func Record(t testing.TB, scenario string, figures any) {
	t.Helper()
	line, err := json.Marshal(map[string]any{"scenario": scenario, "long": Long(), "figures": figures})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("figures: %s", line)
	out := os.Getenv(OutEnv)
	if out == "" {
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
}

// Resources counts what a leak would leave behind.
type Resources struct {
	Goroutines int `json:"goroutines"`
	OpenFiles  int `json:"open_files"` // file descriptors, sockets included
}

// Count counts the process's goroutines and open file descriptors.
func Count() Resources {
	fds, _ := os.ReadDir("/proc/self/fd")
	return Resources{Goroutines: runtime.NumGoroutine(), OpenFiles: len(fds)}
}

// Settle waits up to timeout for the counts to fall back to before's (or
// below), calling release first and then while waiting (to close idle
// connections, say), and returns the last counts.
func Settle(before Resources, timeout time.Duration, release func()) Resources {
	deadline := time.Now().Add(timeout)
	for {
		release()
		now := Count()
		if (now.Goroutines <= before.Goroutines && now.OpenFiles <= before.OpenFiles) || time.Now().After(deadline) {
			return now
		}
		time.Sleep(50 * time.Millisecond)
	}
}

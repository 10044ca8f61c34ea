package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// cliBinary is the lakelink CLI, built once for the package's tests.
var cliBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lakelink-cli-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBinary = filepath.Join(dir, "lakelink")
	if out, err := exec.Command("go", "build", "-o", cliBinary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	if sharedEm != nil {
		sharedEm.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

package lakebase

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
)

// testEmulator is one emulator, with its own PostgreSQL cluster, shared by
// every test of the package. Tests that need the backing server directly
// (bypassing the gateway) use testEmulator.Info().Lakebase.PostgresURL.
// It is nil in the worker processes of `go test -fuzz`: fuzz targets must
// not use it.
var testEmulator *emulator.Emulator

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run()) // a fuzzing worker runs fuzz targets only, which need no emulator
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var err error
	testEmulator, err = emulator.Start(ctx, emulator.Config{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulator:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := testEmulator.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the emulator:", err)
		code = 1
	}
	os.Exit(code)
}

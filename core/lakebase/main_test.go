package lakebase

import (
	"testing"

	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/emulator/emulatortest"
)

// testEmulator is one emulator, with its own PostgreSQL cluster, shared by
// every test of the package. Tests that need the backing server directly
// (bypassing the gateway) use testEmulator.Info().Lakebase.PostgresURL.
// It is nil in the worker processes of `go test -fuzz`: fuzz targets must
// not use it.
var testEmulator *emulator.Emulator

func TestMain(m *testing.M) { emulatortest.Main(m, emulator.Config{}, &testEmulator) }

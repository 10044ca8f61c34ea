package integrations

import (
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/emulator/emulatortest"
)

// testEmulator is one emulator shared by the package's tests, whose
// tokens and credentials live testTTL, so that a test crosses their
// expiry in seconds.
var testEmulator *emulator.Emulator

const testTTL = 3 * time.Second

func TestMain(m *testing.M) { emulatortest.Main(m, emulator.Config{TokenTTL: testTTL}, &testEmulator) }

// connString is a service principal's connection string for the
// emulator's instance over verify-full, with extra properties.
func connString(extra string) string { return emulatortest.LakebaseConnString(testEmulator, extra) }

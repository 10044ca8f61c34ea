package integrations

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
)

// testEmulator is one emulator shared by the package's tests, whose
// tokens and credentials live testTTL, so that a test crosses their
// expiry in seconds.
var testEmulator *emulator.Emulator

const testTTL = 3 * time.Second

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var err error
	testEmulator, err = emulator.Start(ctx, emulator.Config{TokenTTL: testTTL})
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

// connString is a service principal's connection string for the
// emulator's instance over verify-full, with extra properties.
func connString(extra string) string {
	info := testEmulator.Info()
	lb := info.Lakebase
	return fmt.Sprintf("Host=%s;Server=%s;Port=%d;Instance=%s;OAuthClientId=%s;OAuthClientSecret=%s;SSLServerCert=%s;SSLMode=verify-full;%s",
		info.WorkspaceURL, lb.Host, lb.Port, lb.Instance, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret, lb.CAFile, extra)
}

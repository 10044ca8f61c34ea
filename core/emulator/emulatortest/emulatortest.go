// Package emulatortest runs a package's tests against one emulator, and
// gives them its service principal's Lakebase connection string.
package emulatortest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
)

// Main is a TestMain: it starts an emulator with cfg into *shared, runs
// the tests, stops it and exits with the tests' code (1 when the emulator
// does not start or stop cleanly). A fuzzing worker of `go test -fuzz`
// runs without one (*shared stays nil): fuzz targets must not use it.
func Main(m *testing.M, cfg emulator.Config, shared **emulator.Emulator) {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e, err := emulator.Start(ctx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulator:", err)
		os.Exit(1)
	}
	*shared = e
	code := m.Run()
	if err := e.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the emulator:", err)
		code = 1
	}
	os.Exit(code)
}

// LakebaseConnString is e's service principal's connection string for its
// Lakebase instance over verify-full, with extra properties after it.
func LakebaseConnString(e *emulator.Emulator, extra string) string {
	info := e.Info()
	lb := info.Lakebase
	return fmt.Sprintf("Host=%s;Server=%s;Port=%d;Instance=%s;OAuthClientId=%s;OAuthClientSecret=%s;SSLServerCert=%s;SSLMode=verify-full;%s",
		info.WorkspaceURL, lb.Host, lb.Port, lb.Instance, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret, lb.CAFile, extra)
}

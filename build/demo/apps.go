//go:build ignore

// The Go API side of `make demo`: a service principal's connection string
// becomes a token source and an App client, which calls the emulated app's
// /api/ routes; then an outsider's call fails with lakelink's diagnosis.
//
// Usage: go run build/demo/apps.go path/to/emulator.json
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/emulator"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(stateFile string) error {
	data, err := os.ReadFile(stateFile)
	if err != nil {
		return err
	}
	var info emulator.Info
	if err := json.Unmarshal(data, &info); err != nil {
		return err
	}
	ctx := context.Background()
	client := func(c emulator.ClientInfo) (*apps.App, error) {
		o, err := connstr.Parse(fmt.Sprintf("Host=%s;AuthScheme=OAuthClient;OAuthClientId=%s;OAuthClientSecret=%s",
			info.WorkspaceURL, c.ClientID, c.ClientSecret))
		if err != nil {
			return nil, err
		}
		tokens, err := auth.NewTokenSource(o)
		if err != nil {
			return nil, err
		}
		return apps.New(info.AppURL, tokens)
	}

	app, err := client(info.ServicePrincipal)
	if err != nil {
		return err
	}
	resp, err := app.Get(ctx, "/api/whoami")
	if err != nil {
		return err
	}
	fmt.Printf("    GET /api/whoami -> %d %s", resp.Status, resp.Body)
	resp, err = app.Post(ctx, "/api/echo", "application/json", strings.NewReader(`{"hello": "from Go"}`))
	if err != nil {
		return err
	}
	var echo struct{ Body string }
	json.Unmarshal(resp.Body, &echo)
	fmt.Printf("    POST /api/echo -> %d, the app received %s\n", resp.Status, echo.Body)

	outsider, err := client(info.Outsider)
	if err != nil {
		return err
	}
	_, err = outsider.Get(ctx, "/api/whoami")
	fmt.Printf("    the outsider's GET /api/whoami fails, and lakelink says why:\n      %s\n",
		strings.ReplaceAll(fmt.Sprint(err), "\n", "\n      "))
	return nil
}

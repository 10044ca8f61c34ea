package ops

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/lakebase"
)

// roundTripper is a function as an http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestOperationsUseTheirConfiguration: the operations reach Databricks
// through the configuration they are given (as the WASI module's go
// through the host's transport): an Ops whose configuration has a
// transport of its own sends its OAuth, App and credential calls through
// it, and an Ops with another configuration sends nothing through it.
func TestOperationsUseTheirConfiguration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	info := e.Info()
	conn := fmt.Sprintf("Host=%s;OAuthClientId=%s;OAuthClientSecret=%s;Server=%s;Port=%d;Instance=%s",
		info.WorkspaceURL, info.ServicePrincipal.ClientID, info.ServicePrincipal.ClientSecret,
		info.Lakebase.Host, info.Lakebase.Port, info.Lakebase.Instance)

	var mu sync.Mutex
	var carried []string // the paths of the requests own carried
	own := roundTripper(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		carried = append(carried, req.URL.Path)
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(req)
	})
	since := func(n int) []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(carried[n:])
	}
	custom := Ops{Config: &lakebase.Config{Auth: &auth.Config{HTTPTransport: own}}}
	plain := Ops{Config: &lakebase.Config{Auth: &auth.Config{}}}
	steps := []struct {
		name string
		path string // a request the step makes
		run  func(Ops) error
	}{
		{"GetToken", "/oidc/v1/token", func(p Ops) error { return second(p.GetToken(ctx, Conn{conn})) }},
		{"CallApp", "/api/whoami", func(p Ops) error {
			return second(p.CallApp(ctx, AppRequest{Conn: conn, AppURL: info.AppURL, URL: "/api/whoami"}))
		}},
		{"GetCredential", "/api/2.0/database/credentials", func(p Ops) error { return second(p.GetCredential(ctx, Conn{conn})) }},
	}
	n := 0
	for _, s := range steps {
		if err := s.run(custom); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		sent := since(n)
		n += len(sent)
		if !slices.Contains(sent, s.path) {
			t.Errorf("%s: the configuration's transport carried %q, not %s", s.name, sent, s.path)
		}
	}
	for _, s := range steps {
		if err := s.run(plain); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	if sent := since(n); len(sent) > 0 {
		t.Errorf("an Ops of another configuration sent %q through the first's transport", sent)
	}
}

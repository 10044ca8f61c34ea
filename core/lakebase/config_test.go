package lakebase

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
)

// countingTransport is an HTTP transport of a program's own: it notes the
// path of every request it carries.
type countingTransport struct {
	mu    sync.Mutex
	paths []string
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.paths = append(t.paths, req.URL.Path)
	t.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (t *countingTransport) seen() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.paths)
}

// TestTwoConfigurationsInOneProcess: a program holds two configurations,
// one whose HTTP goes through a transport of its own and one with the
// defaults. Each connects to Lakebase and calls the App with its own: the
// first's OAuth calls, credential minting and App calls all go through its
// transport, the second's through none of it, and they share no token
// source.
func TestTwoConfigurationsInOneProcess(t *testing.T) {
	ctx := context.Background()
	o, err := connstr.Parse(lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingTransport{}
	custom := &Config{Auth: &auth.Config{HTTPTransport: counting}}
	plain := &Config{Auth: &auth.Config{}}

	p, err := custom.Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	seen := counting.seen()
	for _, want := range []string{"/oidc/.well-known/oauth-authorization-server", "/oidc/v1/token", "/api/2.0/database/credentials"} {
		if !slices.Contains(seen, want) {
			t.Errorf("the custom configuration's transport carried %q, not %s", seen, want)
		}
	}

	q, err := plain.Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if again := counting.seen(); len(again) != len(seen) {
		t.Errorf("the plain configuration sent %q through the other's transport", again[len(seen):])
	}
	for _, pool := range []*Pool{p, q} {
		if r, err := pool.Query(ctx, "SELECT 1"); err != nil {
			t.Error(err)
		} else {
			r.Close()
		}
	}

	customTokens, err := custom.Auth.NewTokenSource(o)
	if err != nil {
		t.Fatal(err)
	}
	plainTokens, err := plain.Auth.NewTokenSource(o)
	if err != nil {
		t.Fatal(err)
	}
	if customTokens == plainTokens {
		t.Error("the two configurations share a token source, which carries one transport")
	}
	if defaultTokens, err := auth.NewTokenSource(o); err != nil || defaultTokens == customTokens || defaultTokens == plainTokens {
		t.Errorf("the default configuration's token source: %v; want one of its own", err)
	}

	before := len(counting.seen())
	for _, c := range []struct {
		cfg    *Config
		tokens *auth.Source
		viaOwn bool
	}{{plain, plainTokens, false}, {custom, customTokens, true}} {
		app, err := apps.New(testEmulator.Info().AppURL, c.tokens, apps.WithTransport(c.cfg.Auth.HTTPTransport))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Get(ctx, "/api/whoami"); err != nil {
			t.Fatal(err)
		}
		if sent := len(counting.seen()) > before; sent != c.viaOwn {
			t.Errorf("the App call went through the custom transport: %v, want %v", sent, c.viaOwn)
		}
	}
}

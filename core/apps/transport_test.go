package apps

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// TestRequestsShareConnections: Request (one App per call, as the C
// library's lakelink_app_request makes) reuses the process's connections
// instead of leaving one idle connection behind per call.
func TestRequestsShareConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tokens := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})
	for i := 0; i < 50; i++ {
		r, err := Request(context.Background(), tokens, "GET", srv.URL+"/api/echo", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 {
			t.Fatalf("status %d", r.Status)
		}
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("50 calls opened %d connections, want 1 (2 at most)", n)
	}
}

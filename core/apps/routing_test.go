package apps

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

// routingRow is one row of testdata/routing.json, the table of where an
// app's token may go that the tests of every binding read.
type routingRow struct {
	App  string `json:"app"`
	URL  string `json:"url"`
	Want string `json:"want"` // allowed, other_host, not_api_path or invalid
	Why  string `json:"why"`
	Sent string `json:"sent"` // for allowed: the URL the request goes to
}

// routingTable reads the table, {port} replaced by port.
func routingTable(t *testing.T, port string) []routingRow {
	t.Helper()
	data, err := os.ReadFile("testdata/routing.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct{ Rows []routingRow }
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(data), "{port}", port)), &table); err != nil {
		t.Fatal(err)
	}
	return table.Rows
}

// outcome is what the table calls err: allowed (nil, or a failure after
// sending), other_host, not_api_path or invalid.
func outcome(err error) string {
	var refused *Error
	var invalid *ArgumentError
	switch {
	case errors.As(err, &invalid):
		return "invalid"
	case errors.As(err, &refused) && (refused.Kind == KindOtherHost || refused.Kind == KindNotAPIPath):
		return refused.Kind
	}
	return "allowed"
}

// TestRoutingTableAuthorize: Authorize (what a binding's own fetch asks)
// gives every row of the table its outcome, the URL it names for the
// allowed ones, and asks for no token for the others.
func TestRoutingTableAuthorize(t *testing.T) {
	for _, r := range routingTable(t, "8099") {
		src := static(testJWT)
		_, target, _, err := Authorize(r.App, src, http.MethodGet, r.URL)
		if got := outcome(err); got != r.Want {
			t.Errorf("app %q, url %q (%s): %s (%v), want %s", r.App, r.URL, r.Why, got, err, r.Want)
			continue
		}
		if r.Want == "allowed" && target != r.Sent {
			t.Errorf("app %q, url %q (%s): sent to %q, want %q", r.App, r.URL, r.Why, target, r.Sent)
		}
		if r.Want != "allowed" && src.calls.Load() != 0 {
			t.Errorf("app %q, url %q (%s): refused, yet a token was asked for", r.App, r.URL, r.Why)
		}
	}
}

// TestRoutingTableDo: Do, against a live app on 127.0.0.1 at {port}, gives
// every row its outcome; only allowed rows reach the app, at the path and
// query of the URL in sent, with the token.
func TestRoutingTableDo(t *testing.T) {
	unsetProxies(t)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.URL.RequestURI())) })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, r := range routingTable(t, port) {
		src := static(testJWT)
		before := srv.hits.Load()
		var resp *Response
		app, err := New(r.App, src, WithTimeout(5e9))
		if err == nil {
			resp, err = app.Get(context.Background(), r.URL)
		}
		if got := outcome(err); got != r.Want {
			t.Errorf("app %q, url %q (%s): %s (%v), want %s", r.App, r.URL, r.Why, got, err, r.Want)
			continue
		}
		reached := srv.hits.Load() != before
		switch {
		case r.Want != "allowed" && (reached || src.calls.Load() != 0):
			t.Errorf("app %q, url %q (%s): refused, yet sent (%v) or a token asked for", r.App, r.URL, r.Why, reached)
		case r.Want == "allowed" && strings.HasPrefix(r.Sent, srv.URL+"/"):
			if err != nil || !reached || string(resp.Body) != strings.TrimPrefix(r.Sent, srv.URL) {
				t.Errorf("app %q, url %q (%s): %v, want the app to get %s", r.App, r.URL, r.Why, err, r.Sent)
			}
		}
	}
}

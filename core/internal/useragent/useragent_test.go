package useragent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestString: the Databricks SDKs' key/value format, lakelink's part
// first, the auth type last.
func TestString(t *testing.T) {
	got := String(" binding/python  python/3.11.7 ", "oauth-m2m")
	if !strings.HasPrefix(got, "lakelink/") || !strings.Contains(got, " go/"+strings.TrimPrefix(runtime.Version(), "go")+" os/"+runtime.GOOS+" ") ||
		!strings.HasSuffix(got, " binding/python python/3.11.7 auth/oauth-m2m") {
		t.Errorf("got %q", got)
	}
	if got := String("", ""); strings.Count(got, " ") != 2 {
		t.Errorf("got %q", got)
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []string{"", "binding/python python/3.11.7", "binding/node node/22.3.0-rc.1"} {
		if err := Check(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"python", "binding/python/3.11.7", "a/b\nX-Evil: 1", "a/(b)", "/x"} {
		if err := Check(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTransport: the request goes with lakelink's User-Agent and its
// context's auth type; the caller's request is left as it was.
func TestTransport(t *testing.T) {
	var seen string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.UserAgent() }))
	defer srv.Close()
	ctx := WithAuthType(context.Background(), func() string { return "pat" })
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "databricks-sdk-go/0.180.0")
	resp, err := (&http.Client{Transport: Transport(nil, "binding/test test/1")}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen != String("binding/test test/1", "pat") || req.Header.Get("User-Agent") != "databricks-sdk-go/0.180.0" {
		t.Errorf("sent %q; the request now has %q", seen, req.Header.Get("User-Agent"))
	}
}

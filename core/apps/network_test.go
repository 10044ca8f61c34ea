package apps

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestProxyVariablesRedacted(t *testing.T) {
	unsetProxies(t)
	t.Setenv("HTTPS_PROXY", "https://u:p%40ss@proxy.corp:3128/")
	t.Setenv("http_proxy", "proxy.corp:3128")
	t.Setenv("no_proxy", "localhost,.corp")
	got := strings.Join(proxyVariables(), ", ")
	if want := "HTTPS_PROXY=https://proxy.corp:3128/, http_proxy=proxy.corp:3128, no_proxy=localhost,.corp"; got != want {
		t.Errorf("proxyVariables = %q, want %q", got, want)
	}
	// A transport that uses no proxy says so.
	a := newApp(t, "https://app.example.com", static(testJWT), WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
	u, _ := url.Parse("https://app.example.com/api/x")
	if got := a.proxyReport(u); !strings.Contains(got, "the HTTP client's transport is set to use none") {
		t.Errorf("proxyReport = %q", got)
	}
	// A transport lakelink cannot inspect: what the environment says, hedged.
	a = newApp(t, "https://app.example.com", static(testJWT), WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}))
	if got := a.proxyReport(u); !strings.Contains(got, "If the HTTP client's transport honours these variables, the request went through the proxy https://proxy.corp:3128/.") {
		t.Errorf("proxyReport = %q", got)
	}
}

package auth

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/emulator"
	"github.com/lakelink/lakelink/core/internal/soak"
)

// retryWaits reads the waits between attempts from a log at Verbosity 2.
func retryWaits(t *testing.T, logfile string) []time.Duration {
	t.Helper()
	data, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for _, m := range regexp.MustCompile(`msg=retrying .*? wait=(\S+)`).FindAllStringSubmatch(string(data), -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("wait %q: %v", m[1], err)
		}
		waits = append(waits, d)
	}
	return waits
}

// TestTokenEndpointFaults: a service principal's token source facing each
// kind of misbehaving token endpoint. Transient faults are retried with
// backoff and jitter (or after Retry-After) and then succeed; persistent
// ones end, within Timeout, in an error that says what the endpoint did.
// No goroutine, file or connection outlives the faults.
func TestTokenEndpointFaults(t *testing.T) {
	e := shortLived(t, time.Hour)
	transport := http.DefaultTransport.(*http.Transport)
	type scenario struct {
		name    string
		fault   string
		timeout time.Duration
		ok      bool     // the token is obtained in the end
		want    []string // in the error, when not ok
		atLeast time.Duration
		atMost  time.Duration
	}
	scenarios := []scenario{
		{name: "500 three times", fault: `{"endpoint":"token","kind":"500","count":3}`, timeout: 10 * time.Second, ok: true,
			atMost: 2 * time.Second},
		{name: "500 always", fault: `{"endpoint":"token","kind":"500","count":1000}`, timeout: 3 * time.Second,
			want: []string{"token request (client_credentials)", "gave up after", "500 Internal Server Error"}, atMost: 4 * time.Second},
		{name: "429 with Retry-After twice", fault: `{"endpoint":"token","kind":"429","count":2,"retry_after_seconds":1}`, timeout: 10 * time.Second, ok: true,
			atLeast: 2 * time.Second, atMost: 4 * time.Second},
		{name: "429 with a Retry-After past the timeout", fault: `{"endpoint":"token","kind":"429","count":1000,"retry_after_seconds":30}`, timeout: 3 * time.Second,
			want: []string{"gave up after 1 attempts", "429 Too Many Requests"}, atMost: time.Second},
		{name: "hang past the timeout", fault: `{"endpoint":"token","kind":"hang","count":1000,"duration":"30s"}`, timeout: 2 * time.Second,
			want: []string{"token request (client_credentials)", "gave up", "Timeout ran out"}, atLeast: 2 * time.Second, atMost: 3 * time.Second},
		{name: "hang shorter than the timeout", fault: `{"endpoint":"token","kind":"hang","count":1,"duration":"1s"}`, timeout: 5 * time.Second, ok: true,
			atLeast: time.Second, atMost: 3 * time.Second},
		{name: "malformed JSON twice", fault: `{"endpoint":"token","kind":"malformed","count":2}`, timeout: 10 * time.Second, ok: true,
			atMost: 2 * time.Second},
		{name: "malformed JSON always", fault: `{"endpoint":"token","kind":"malformed","count":1000}`, timeout: 2 * time.Second,
			want: []string{"gave up after", "malformed JSON"}, atMost: 3 * time.Second},
		{name: "10 MB body once", fault: `{"endpoint":"token","kind":"huge","count":1}`, timeout: 10 * time.Second, ok: true,
			atMost: 3 * time.Second},
		{name: "10 MB body always", fault: `{"endpoint":"token","kind":"huge","count":1000}`, timeout: 2 * time.Second,
			want: []string{"gave up after", "larger than 1 MiB"}, atMost: 4 * time.Second},
	}
	type result struct {
		Scenario     string `json:"scenario"`
		Attempts     int    `json:"attempts"`
		Faults       int    `json:"faults_injected"`
		OK           bool   `json:"ok"`
		Seconds      string `json:"seconds"`
		Error        string `json:"error,omitempty"`
		LeakedGo     int    `json:"leaked_goroutines"`
		LeakedFiles  int    `json:"leaked_files"`
		OpenHTTPConn int    `json:"open_http_connections_after"`
	}
	var results []result
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			logfile := filepath.Join(t.TempDir(), "lakelink.log")
			src, err := NewTokenSource(parse(t, "%s;Timeout=%s;Logfile=%s;Verbosity=2", m2m(e), sc.timeout, logfile))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := Discover(t.Context(), parse(t, "Host=%s", e.Info().WorkspaceURL)); err != nil { // once per process, outside the counts
				t.Fatal(err)
			}
			transport.CloseIdleConnections()
			before := soak.Settle(soak.Count(), time.Second, transport.CloseIdleConnections)
			calls := e.Stats().Calls["token"]
			fault(t, e, sc.fault)

			start := time.Now()
			tok, err := src.Token()
			elapsed := time.Since(start)
			attempts := e.Stats().Calls["token"] - calls
			clearFaults(t, e)

			if sc.ok {
				if err != nil || tok.AccessToken == "" {
					t.Fatalf("after the faults: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("a token despite a persistent fault")
				}
				for _, w := range sc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
			if elapsed < sc.atLeast || elapsed > sc.atMost {
				t.Errorf("took %s, want %s to %s", elapsed.Round(time.Millisecond), sc.atLeast, sc.atMost)
			}
			// Backoff with full jitter: wait n is at most 100ms·2^(n-1)
			// (5s at most) plus 1ms, unless Retry-After says otherwise.
			waits := retryWaits(t, logfile)
			if attempts > 1 && len(waits) != attempts-1 {
				t.Errorf("%d attempts but %d retries logged", attempts, len(waits))
			}
			for n, w := range waits {
				limit := min(100*time.Millisecond<<n, 5*time.Second) + time.Millisecond
				if strings.HasPrefix(sc.name, "429") {
					limit = time.Second
				}
				if w <= 0 || w > limit {
					t.Errorf("wait %d was %s, want (0, %s]", n+1, w, limit)
				}
			}

			after := soak.Settle(before, 10*time.Second, transport.CloseIdleConnections)
			open := 0
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if open = e.Stats().Open.Workspace; open == 0 || time.Now().After(deadline) {
					break
				}
			}
			r := result{Scenario: sc.name, Attempts: attempts, Faults: attempts, OK: err == nil, Seconds: fmt.Sprintf("%.2f", elapsed.Seconds()),
				LeakedGo: max(after.Goroutines-before.Goroutines, 0), LeakedFiles: max(after.OpenFiles-before.OpenFiles, 0), OpenHTTPConn: open}
			if sc.ok {
				r.Faults = attempts - 1
			}
			if err != nil {
				r.Error = err.Error()
			}
			results = append(results, r)
			if r.LeakedGo > 0 || r.LeakedFiles > 0 || open > 0 {
				t.Errorf("leaked %d goroutines, %d files; %d HTTP connections still open (before %+v, after %+v)",
					r.LeakedGo, r.LeakedFiles, open, before, after)
			}
		})
	}
	soak.Record(t, "token endpoint faults", results)
}

// clearFaults disarms every fault of e.
func clearFaults(t *testing.T, e *emulator.Emulator) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", e.Info().AdminURL+"/faults", nil)
	req.Header.Set("Content-Type", "application/json") // the admin endpoint changes state only for JSON
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

package apps

// Helpers of the tests against httptest servers, for what the emulator
// does not do: a fake JWT and a server that records what it was sent.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeJWT is a JWT whose payload holds claims; its signature is junk.
func fakeJWT(claims map[string]any) string {
	payload, _ := json.Marshal(claims)
	tok := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz"
	issued.Store(tok, true)
	return tok
}

var testJWT = fakeJWT(map[string]any{"sub": "dev.user@example.com", "scope": "all-apis offline_access",
	"exp": float64(time.Now().Add(time.Hour).Unix()), "iss": "https://ws.example.com/oidc"})

// server is an httptest server that records what it received.
type server struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	auth []string // Authorization headers received
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// authAt returns the Authorization header of the i-th request (from the
// end when i is negative).
func (s *server) authAt(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 {
		i += len(s.auth)
	}
	return s.auth[i]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package auth

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestTwoConfigurationsHaveTheirOwnBrowserAndPrompt: two configurations in
// one process log in, each through its own browser opener and prompt;
// neither touches the other's, nor the default configuration's.
func TestTwoConfigurationsHaveTheirOwnBrowserAndPrompt(t *testing.T) {
	type setup struct {
		cfg    *Config
		prompt *bytes.Buffer
		opened *atomic.Int32
	}
	newSetup := func() setup {
		s := setup{prompt: &bytes.Buffer{}, opened: &atomic.Int32{}}
		s.cfg = &Config{Prompt: s.prompt, OpenBrowser: func(u string) error {
			s.opened.Add(1)
			go func() { // a browser that signs in at once
				if resp, err := http.Get(u); err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		}}
		return s
	}
	a, b := newSetup(), newSetup()
	for i, s := range []setup{a, b} {
		o := parse(t, "Host=%s;AuthScheme=OAuthPKCE;CallbackURL=%s;OAuthSettingsLocation=%s",
			shared.Info().WorkspaceURL, freeCallback(t), tokenStore(t))
		if _, _, err := s.cfg.Login(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		for j, other := range []setup{a, b} {
			want := int32(0)
			if j <= i {
				want = 1
			}
			if got := other.opened.Load(); got != want {
				t.Errorf("after login %d, configuration %d opened its browser %d times, want %d", i, j, got, want)
			}
			if shown := strings.Count(other.prompt.String(), "/oidc/v1/authorize"); shown != int(want) {
				t.Errorf("after login %d, configuration %d's prompt showed %d authorization URLs, want %d:\n%s", i, j, shown, want, other.prompt)
			}
		}
	}
}

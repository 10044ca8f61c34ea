package lakebase

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/soak"
)

// tokenOptions is a distinct AuthScheme=Token identity at the test
// emulator's workspace.
func tokenOptions(t testing.TB, i int) *connstr.Options {
	t.Helper()
	o, err := connstr.Parse(fmt.Sprintf("Host=%s;AuthScheme=Token;Token=token-%d-0123456789abcdef0123456789abcdef",
		testEmulator.Info().WorkspaceURL, i))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestForgottenIdentityKeepsWorking: a pool whose identity the Config
// forgot logs in new sessions with its credential still; the Config keeps
// MaxIdentities identities, and the next pool for the identity works too.
func TestForgottenIdentityKeepsWorking(t *testing.T) {
	e := testEmulator
	cfg := &Config{Auth: &auth.Config{MaxIdentities: 1}}
	defer cfg.Close()
	cs := lakebaseConn(e, "Instance="+e.Info().Lakebase.Instance)
	p := connectWith(t, cfg, cs)
	if _, err := cfg.identityFor(tokenOptions(t, 1)); err != nil { // the pool's identity goes
		t.Fatal(err)
	}
	if n := cfg.identities.Len(); n != 1 {
		t.Fatalf("the Config keeps %d identities, want MaxIdentities = 1", n)
	}
	var wg sync.WaitGroup
	for range 3 { // at once: new sessions log in
		wg.Go(func() {
			r, err := p.Query(context.Background(), "SELECT pg_sleep(0.2)")
			if err == nil {
				for r.Next() {
				}
				err = r.Err()
				r.Close()
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := scalar(t, connectWith(t, cfg, cs), "SELECT current_user"), e.Info().ServicePrincipal.ClientID; got != want {
		t.Errorf("current_user %q, want %q", got, want)
	}
}

// TestIdentityKeepsFewCredentials: an identity keeps the credentials of
// its maxTargets most recently used targets.
func TestIdentityKeepsFewCredentials(t *testing.T) {
	cfg := &Config{}
	defer cfg.Close()
	o := tokenOptions(t, 1)
	id, err := cfg.identityFor(o)
	if err != nil {
		t.Fatal(err)
	}
	instance := func(i int) *credential {
		w := *o
		w.Instance = fmt.Sprint("instance-", i)
		return cfg.credentialFor(&w, id)
	}
	first, second := instance(0), instance(1)
	for i := 2; i < 2*maxTargets; i++ {
		if i%4 == 0 && instance(0) != first { // used now and then: kept
			t.Fatal("a credential in use was dropped")
		}
		instance(i)
	}
	if len(id.credentials) != maxTargets {
		t.Errorf("the identity keeps %d credentials, want %d", len(id.credentials), maxTargets)
	}
	if instance(1) == second {
		t.Error("the least recently used credential was kept beyond maxTargets")
	}
}

// TestManyIdentitiesStayBounded: distinct AuthScheme=Token identities
// through the identity path (identity, credential, password): the Config
// keeps MaxIdentities, goroutines and descriptors come back, the heap
// stays bounded. It also measures what a kept identity costs, its
// databricks-sdk-go client included.
func TestManyIdentitiesStayBounded(t *testing.T) {
	identities := soak.Pick(20_000, 100_000)
	const maxIdentities = 100
	ctx := context.Background()
	heapInUse := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	through := func(cfg *Config, i int) {
		o := tokenOptions(t, i)
		id, err := cfg.identityFor(o)
		if err != nil {
			t.Fatal(err)
		}
		if password, _, err := cfg.credentialFor(o, id).get(ctx); err != nil || password != o.Token {
			t.Fatalf("password: %v", err)
		}
	}
	// A new identity's SDK client asks the workspace for its metadata
	// (/.well-known/databricks-config) through the SDK's shared transport,
	// which keeps its connection open: in the baseline, not per identity.
	through(&Config{Auth: &auth.Config{}}, -1)
	before, heapBefore := soak.Count(), heapInUse()
	cfg := &Config{Auth: &auth.Config{MaxIdentities: maxIdentities}}
	for i := range identities {
		through(cfg, i)
	}
	kept := cfg.identities.Len()
	during, heapDuring := soak.Count(), heapInUse()
	if kept != maxIdentities {
		t.Errorf("the Config keeps %d identities, want MaxIdentities = %d", kept, maxIdentities)
	}
	if during.OpenFiles > before.OpenFiles+2 || during.Goroutines > before.Goroutines+3 { // a second connection, at most
		t.Errorf("resources: %+v before, %+v after %d identities", before, during, identities)
	}
	const heapBound = 8 << 20
	if heapDuring > heapBefore+heapBound {
		t.Errorf("the heap grew by %d bytes over %d identities, want under %d", heapDuring-heapBefore, identities, heapBound)
	}

	full := &Config{Auth: &auth.Config{}}
	heapEmpty := heapInUse()
	for i := range auth.DefaultMaxIdentities {
		through(full, i)
	}
	perIdentity := (int64(heapInUse()) - int64(heapEmpty)) / auth.DefaultMaxIdentities
	full.Close()
	full.Auth.Close()
	cfg.Close()
	cfg.Auth.Close()
	after := soak.Settle(before, 5*time.Second, func() {})
	if after.OpenFiles > before.OpenFiles || after.Goroutines > before.Goroutines {
		t.Errorf("resources: %+v before, %+v once the Configs are closed", before, after)
	}
	soak.Record(t, "distinct token identities through lakebase's identities", map[string]any{
		"identities": identities, "max_identities": maxIdentities, "kept": kept,
		"heap_growth_bytes": int64(heapDuring) - int64(heapBefore), "heap_per_kept_identity_bytes": perIdentity,
		"before": before, "during": during, "after": after,
	})
}

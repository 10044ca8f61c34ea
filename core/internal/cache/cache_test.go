package cache

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder collects what a cache evicts.
type recorder struct {
	mu   sync.Mutex
	keys []int
}

func (r *recorder) evicted(k int, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, k)
}

func (r *recorder) got() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	var r recorder
	c := New(2, 0, r.evicted)
	defer c.Close()
	c.Add(1, "a")
	c.Add(2, "b")
	if _, ok := c.Get(1); !ok { // 2 is now the least recently used
		t.Fatal("1 missing")
	}
	c.Add(3, "c")
	if got := r.got(); !slices.Equal(got, []int{2}) {
		t.Fatalf("evicted %v, want [2]", got)
	}
	if _, ok := c.Get(2); ok {
		t.Fatal("2 still there")
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
}

func TestReplacingAValueEvictsTheOldOne(t *testing.T) {
	var r recorder
	c := New(4, 0, r.evicted)
	defer c.Close()
	c.Add(1, "a")
	c.Add(1, "b")
	if v, _ := c.Get(1); v != "b" || !slices.Equal(r.got(), []int{1}) {
		t.Fatalf("value %q, evicted %v", v, r.got())
	}
}

// TestAddingTheSameValueKeepsIt: adding the value a key has already only
// marks it used (evicting it would close a value in use), while a value of
// a type that cannot be compared is a replacement.
func TestAddingTheSameValueKeepsIt(t *testing.T) {
	var r recorder
	c := New(4, 0, r.evicted)
	defer c.Close()
	c.Add(1, "a")
	c.Add(2, "b")
	c.Add(1, "a") // 1 used again: 2 is the least recently used
	if got := r.got(); len(got) != 0 {
		t.Fatalf("adding the same value evicted %v", got)
	}
	if v, _ := c.Get(1); v != "a" {
		t.Fatalf("value %q", v)
	}

	var gone [][]int
	s := New(4, 0, func(_ int, v []int) { gone = append(gone, v) })
	defer s.Close()
	v := []int{1}
	s.Add(1, v)
	s.Add(1, v)
	if len(gone) != 1 {
		t.Fatalf("a slice, which cannot be compared, added twice: evicted %v, want the first", gone)
	}

	var anyGone []any
	i := New(4, 0, func(_ int, v any) { anyGone = append(anyGone, v) })
	defer i.Close()
	i.Add(1, any(7))
	i.Add(1, any(7))
	i.Add(1, any([]int{1}))
	i.Add(1, any([]int{1})) // of an interface type, a dynamic value that cannot be compared
	if len(anyGone) != 2 {
		t.Fatalf("evicted %v, want 7 and the first slice", anyGone)
	}
}

// TestInUseIsNotIdle: the idle sweep keeps an entry its owner says is in
// use, however long, and evicts it once it is no longer used.
func TestInUseIsNotIdle(t *testing.T) {
	var r recorder
	var busy sync.Map
	c := New(10, 50*time.Millisecond, r.evicted)
	c.InUse(func(v string) bool { _, ok := busy.Load(v); return ok })
	defer c.Close()
	busy.Store("a", true)
	c.Add(1, "a")
	c.Add(2, "b")
	time.Sleep(200 * time.Millisecond) // four idle times
	if _, ok := c.Get(2); ok {
		t.Fatal("2, idle, is still there")
	}
	if c.Len() != 1 || !slices.Equal(r.got(), []int{2}) {
		t.Fatalf("len %d, evicted %v: 1, in use, went", c.Len(), r.got())
	}
	busy.Delete("a")
	deadline := time.Now().Add(5 * time.Second)
	for c.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Len() != 0 {
		t.Fatal("1, no longer in use, stays")
	}
}

func TestIdleEntriesGoWithoutAnyoneCalling(t *testing.T) {
	var r recorder
	c := New(10, 50*time.Millisecond, r.evicted)
	defer c.Close()
	c.Add(1, "a")
	c.Add(2, "b")
	deadline := time.Now().Add(5 * time.Second)
	for c.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Len() != 0 || len(r.got()) != 2 {
		t.Fatalf("len %d, evicted %v", c.Len(), r.got())
	}
	c.mu.Lock()
	timer := c.timer
	c.mu.Unlock()
	if timer != nil {
		t.Fatal("a timer is left while the cache is empty")
	}
}

func TestUseKeepsAnEntry(t *testing.T) {
	var r recorder
	c := New(10, 200*time.Millisecond, r.evicted)
	defer c.Close()
	c.Add(1, "a")
	c.Add(2, "b")
	for range 6 { // 300 ms of using 1 only
		time.Sleep(50 * time.Millisecond)
		if _, ok := c.Get(1); !ok {
			t.Fatal("1, used, was evicted")
		}
	}
	if _, ok := c.Get(2); ok {
		t.Fatal("2, idle for 300 ms, is still there")
	}
}

func TestGetOrAddMakesOnceAndKeepsNoFailure(t *testing.T) {
	c := New[int, string](4, 0, nil)
	defer c.Close()
	if _, err := c.GetOrAdd(1, func() (string, error) { return "", errors.New("no") }); err == nil || c.Len() != 0 {
		t.Fatalf("err %v, len %d", err, c.Len())
	}
	var made int
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.GetOrAdd(1, func() (string, error) { made++; return "a", nil })
		}()
	}
	wg.Wait()
	if made != 1 {
		t.Fatalf("made %d times", made)
	}
}

func TestCloseEvictsAllAndLaterAddsAtOnce(t *testing.T) {
	var r recorder
	c := New(4, time.Hour, r.evicted)
	c.Add(1, "a")
	c.Add(2, "b")
	c.Close()
	c.Close()
	c.Add(3, "c")
	got := r.got()
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 2, 3}) || c.Len() != 0 {
		t.Fatalf("evicted %v, len %d", got, c.Len())
	}
}

func TestEvictedMayUseTheCache(t *testing.T) {
	var c *Cache[int, string]
	c = New(1, 0, func(k int, _ string) { c.Len() }) // would deadlock under the lock
	defer c.Close()
	c.Add(1, "a")
	c.Add(2, "b")
	c.Remove(2)
}

// Package cache is the one shape of every per-identity cache in lakelink:
// a bounded map that forgets the least recently used entry beyond its
// size, and any entry unused for its idle time. Its owner (an auth.Config,
// a lakebase.Config, a Pool) closes it; what it evicts is handed to the
// owner's evicted function, which releases what only the cache held (a
// pool's sessions, say). A value still held elsewhere keeps working: the
// cache only drops its own reference.
package cache

import (
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is a bounded map from K to V, safe for concurrent use.
type Cache[K comparable, V any] struct {
	idle    time.Duration
	evicted func(K, V)
	inUse   func(V) bool // see InUse; nil: no value is

	mu     sync.Mutex
	lru    *simplelru.LRU[K, *entry[V]] // oldest first is least recently used
	gone   []evictee[K, V]              // evicted under mu, handed to evicted after it
	timer  *time.Timer                  // the next idle sweep; nil while empty
	closed bool
}

type entry[V any] struct {
	value V
	used  time.Time
}

type evictee[K comparable, V any] struct {
	key   K
	value V
}

// New returns a cache of at most size entries (at least 1) that forgets an
// entry unused for idle (never when idle is 0). evicted, when not nil,
// receives each entry the cache drops (by size, idleness, Remove or
// Close), outside the cache's lock, so it may block or use the cache.
func New[K comparable, V any](size int, idle time.Duration, evicted func(K, V)) *Cache[K, V] {
	c := &Cache[K, V]{idle: idle, evicted: evicted}
	lru, err := simplelru.NewLRU(max(size, 1), func(k K, e *entry[V]) {
		c.gone = append(c.gone, evictee[K, V]{k, e.value})
	})
	if err != nil { // only for a size below 1
		panic(err)
	}
	c.lru = lru
	return c
}

// InUse tells the cache which values their owner is using (a pool with
// sessions taken, say): the idle sweep counts such an entry as used now
// instead of evicting it. inUse runs under the cache's lock: it must be
// quick and must not use the cache. Call it before the cache is used.
// Eviction beyond the cache's size is unaffected.
func (c *Cache[K, V]) InUse(inUse func(V) bool) { c.inUse = inUse }

// Get returns the value for k, marking it used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.release()
	return c.getLocked(k, time.Now())
}

func (c *Cache[K, V]) getLocked(k K, now time.Time) (V, bool) {
	c.sweepLocked(now)
	if e, ok := c.lru.Get(k); ok {
		e.used = now
		return e.value, true
	}
	var zero V
	return zero, false
}

// Add sets the value for k, evicting the least recently used entry when
// the cache is full, and marks it used. A value that replaces another for
// k evicts the old one; adding the value k already has (== for a value of
// a comparable type; a value of another type, a slice say, is never
// taken for the same) only marks it used. Adding to a closed cache evicts
// the value at once.
func (c *Cache[K, V]) Add(k K, v V) {
	c.mu.Lock()
	defer c.release()
	c.addLocked(k, v, time.Now())
}

func (c *Cache[K, V]) addLocked(k K, v V, now time.Time) {
	if c.closed {
		c.gone = append(c.gone, evictee[K, V]{k, v})
		return
	}
	if old, ok := c.lru.Get(k); ok && same(old.value, v) {
		old.used = now
		return
	} else if ok { // a replacement: the old value goes
		c.gone = append(c.gone, evictee[K, V]{k, old.value})
	}
	c.lru.Add(k, &entry[V]{value: v, used: now})
	c.armLocked(now)
}

// GetOrAdd returns the value for k, or adds the one create returns. create
// runs under the cache's lock, so that k is made once: it must be quick
// and must not use the cache. Its error is returned and nothing is added.
func (c *Cache[K, V]) GetOrAdd(k K, create func() (V, error)) (V, error) {
	c.mu.Lock()
	defer c.release()
	now := time.Now()
	if v, ok := c.getLocked(k, now); ok {
		return v, nil
	}
	v, err := create()
	if err != nil {
		return v, err
	}
	c.addLocked(k, v, now)
	return v, nil
}

// Remove drops k, if present.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.release()
	c.lru.Remove(k)
}

// Len is the number of entries, counting those idle but not yet swept.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Values returns the values, least recently used first, without marking
// them used.
func (c *Cache[K, V]) Values() []V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var vs []V
	for _, e := range c.lru.Values() {
		vs = append(vs, e.value)
	}
	return vs
}

// Close evicts every entry and stops the idle sweeps; later Adds evict at
// once. Closing twice is harmless.
func (c *Cache[K, V]) Close() {
	c.mu.Lock()
	defer c.release()
	c.closed = true
	c.lru.Purge()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// release unlocks the cache and hands what it evicted to evicted.
func (c *Cache[K, V]) release() {
	gone := c.gone
	c.gone = nil
	c.mu.Unlock()
	if c.evicted != nil {
		for _, g := range gone {
			c.evicted(g.key, g.value)
		}
	}
}

// same reports whether a and b are one value: equal, and of a
// comparable type (for an interface type V, their dynamic types).
func same[V any](a, b V) bool {
	va, vb := reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem()
	return va.Comparable() && vb.Comparable() && va.Equal(vb)
}

// sweepLocked evicts the entries unused for idle; they are the oldest. An
// entry in use (see InUse) counts as used now.
func (c *Cache[K, V]) sweepLocked(now time.Time) {
	if c.idle <= 0 {
		return
	}
	for {
		k, e, ok := c.lru.GetOldest()
		switch {
		case !ok || now.Sub(e.used) < c.idle:
			return
		case c.inUse != nil && c.inUse(e.value):
			e.used = now
			c.lru.Get(k) // the most recently used now: the loop ends
		default:
			c.lru.RemoveOldest()
		}
	}
}

// armLocked makes sure a sweep is due when the oldest entry turns idle,
// so that idle entries go even when nobody uses the cache. The timer
// exists only while entries do.
func (c *Cache[K, V]) armLocked(now time.Time) {
	if c.idle <= 0 || c.timer != nil {
		return
	}
	_, oldest, ok := c.lru.GetOldest()
	if !ok {
		return
	}
	c.timer = time.AfterFunc(oldest.used.Add(c.idle).Sub(now), c.sweep)
}

// sweep is the timer's: evict the idle entries, and wait for the next
// one to turn idle.
func (c *Cache[K, V]) sweep() {
	c.mu.Lock()
	defer c.release()
	c.timer = nil
	if c.closed {
		return
	}
	now := time.Now()
	c.sweepLocked(now)
	c.armLocked(now)
}

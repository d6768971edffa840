package memory

import (
	"context"
	"sync"
	"time"

	"github.com/weftio/weft/storage"
)

// sweepBatch bounds how many expired keys one write reclaims, so a write
// never pays for a large backlog at once. Every TTL write adds at most one
// heap item and every write removes up to this many, so the backlog drains.
const sweepBatch = 8

// kvShard is one independently locked slice of the key space.
type kvShard struct {
	mu      sync.RWMutex
	entries map[string]*entry
	expiry  expiryHeap // entries with a TTL, soonest deadline first
	// Keeps neighbouring shards' hot mutexes off one cache line.
	_ [64]byte
}

// entry is a stored value. value is never mutated after it is stored (a Put
// swaps in a new slice), which lets Get copy it out after unlocking.
type entry struct {
	key     string
	value   []byte
	version uint64
	expires time.Time // meaningful only when heapIndex >= 0
	// heapIndex is the entry's position in its shard's expiry heap, or -1
	// when the entry has no TTL.
	heapIndex int
}

func (e *entry) hasTTL() bool { return e.heapIndex >= 0 }

func (e *entry) expiredAt(now time.Time) bool { return !now.Before(e.expires) }

// Get implements storage.KeyValue. The returned slice is the caller's own;
// an empty stored value is returned as a non-nil empty slice.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	sh := &s.kv[s.shardIndex(key)]
	sh.mu.RLock()
	if s.closed.Load() {
		sh.mu.RUnlock()
		return nil, 0, storage.ErrClosed
	}
	e := sh.entries[key]
	if e == nil || (e.hasTTL() && e.expiredAt(s.now())) {
		// Expired entries are left for a writer to reclaim: removing them
		// here would need the write lock on the read path.
		sh.mu.RUnlock()
		return nil, 0, nil
	}
	value, version := e.value, e.version
	sh.mu.RUnlock()

	out := make([]byte, len(value))
	copy(out, value)
	return out, version, nil
}

// Put implements storage.KeyValue. value is copied; nil stores an empty
// value.
func (s *Store) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	// Copy before locking: large values must not stretch the critical section.
	stored := make([]byte, len(value))
	copy(stored, value)

	var clock lazyClock
	clock.now = s.now
	var expires time.Time
	if ttl > 0 {
		expires = clock.get().Add(ttl)
	}

	sh := &s.kv[s.shardIndex(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.closed.Load() {
		return 0, storage.ErrClosed
	}
	e := sh.live(key, &clock)
	var current uint64
	if e != nil {
		current = e.version
	}
	if current != expected {
		return 0, storage.ErrVersionConflict
	}
	if e == nil {
		e = &entry{key: key, heapIndex: -1}
		sh.entries[key] = e
	}
	e.value = stored
	e.version = current + 1
	if ttl > 0 {
		sh.expiry.schedule(e, expires)
	} else if e.hasTTL() {
		sh.expiry.cancel(e)
	}
	sh.sweep(&clock)
	return e.version, nil
}

// Delete implements storage.KeyValue.
func (s *Store) Delete(ctx context.Context, key string, expected uint64) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var clock lazyClock
	clock.now = s.now

	sh := &s.kv[s.shardIndex(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.closed.Load() {
		return storage.ErrClosed
	}
	e := sh.live(key, &clock)
	var current uint64
	if e != nil {
		current = e.version
	}
	if current != expected {
		return storage.ErrVersionConflict
	}
	if e != nil {
		sh.remove(e)
	}
	sh.sweep(&clock)
	return nil
}

// live returns the entry for key, reclaiming it first if it has expired.
// Callers hold the write lock.
func (sh *kvShard) live(key string, clock *lazyClock) *entry {
	e := sh.entries[key]
	if e != nil && e.hasTTL() && e.expiredAt(clock.get()) {
		sh.remove(e)
		return nil
	}
	return e
}

// remove drops e from the map and the expiry heap. Callers hold the write
// lock.
func (sh *kvShard) remove(e *entry) {
	if e.hasTTL() {
		sh.expiry.cancel(e)
	}
	delete(sh.entries, e.key)
}

// sweep reclaims up to sweepBatch expired entries. Callers hold the write
// lock.
func (sh *kvShard) sweep(clock *lazyClock) {
	if len(sh.expiry) == 0 {
		return
	}
	now := clock.get()
	for range sweepBatch {
		if len(sh.expiry) == 0 || !sh.expiry[0].expiredAt(now) {
			return
		}
		sh.remove(sh.expiry[0])
	}
}

// lazyClock reads the clock at most once per operation and only if some key
// involved has a TTL, keeping time.Now off the common no-TTL path.
type lazyClock struct {
	now func() time.Time
	t   time.Time
	ok  bool
}

func (c *lazyClock) get() time.Time {
	if !c.ok {
		c.t, c.ok = c.now(), true
	}
	return c.t
}

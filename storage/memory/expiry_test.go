package memory

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a hand-moved clock for deterministic TTL tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClockStore(t *testing.T) (*Store, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := New(WithClock(clock.now))
	t.Cleanup(func() { s.Close() })
	return s, clock
}

func TestExpiryUsesClock(t *testing.T) {
	s, clock := newClockStore(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", []byte("v"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute - time.Nanosecond)
	if _, ver, _ := s.Get(ctx, "k"); ver != 1 {
		t.Fatalf("before deadline: version %d, want 1", ver)
	}
	clock.advance(time.Nanosecond)
	if v, ver, _ := s.Get(ctx, "k"); ver != 0 || v != nil {
		t.Fatalf("at deadline: (%q, %d), want absent", v, ver)
	}
}

func TestRewriteMovesDeadline(t *testing.T) {
	s, clock := newClockStore(t)
	ctx := t.Context()
	s.Put(ctx, "k", []byte("v"), 0, time.Second)
	s.Put(ctx, "k", []byte("v"), 1, time.Hour)
	clock.advance(time.Minute)
	if _, ver, _ := s.Get(ctx, "k"); ver != 2 {
		t.Fatalf("after first deadline: version %d, want 2", ver)
	}
	if n := heapLen(s); n != 1 {
		t.Fatalf("expiry heap holds %d items for one key, want 1", n)
	}
	s.Put(ctx, "k", []byte("v"), 2, 0)
	if n := heapLen(s); n != 0 {
		t.Fatalf("expiry heap holds %d items after ttl cleared, want 0", n)
	}
}

func TestWritesReclaimExpiredKeys(t *testing.T) {
	s, clock := newClockStore(t)
	ctx := t.Context()
	const n = 10_000
	for i := range n {
		s.Put(ctx, keyN(i), []byte("v"), 0, time.Second)
	}
	clock.advance(time.Second)
	// Writes without TTL to other keys drain the backlog in bounded steps.
	for i := range n {
		s.Put(ctx, "other"+keyN(i), []byte("v"), 0, 0)
	}
	if left := heapLen(s); left != 0 {
		t.Fatalf("%d expired keys still held after %d writes", left, n)
	}
	if got := entryCount(s); got != n {
		t.Fatalf("%d entries held, want the %d without ttl", got, n)
	}
}

func keyN(i int) string { return "k" + strconv.Itoa(i) }

func heapLen(s *Store) (n int) {
	for i := range s.kv {
		s.kv[i].mu.RLock()
		n += len(s.kv[i].expiry)
		s.kv[i].mu.RUnlock()
	}
	return n
}

func entryCount(s *Store) (n int) {
	for i := range s.kv {
		s.kv[i].mu.RLock()
		n += len(s.kv[i].entries)
		s.kv[i].mu.RUnlock()
	}
	return n
}

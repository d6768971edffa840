package memory

import (
	"context"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/storage"
)

// shardCount spreads lock contention; a power of two so picking a shard is a
// mask. 64 keeps contention low on large machines at ~20 KiB of overhead.
const shardCount = 64

var (
	_ storage.KeyValue = (*Store)(nil)
	_ storage.KeySet   = (*Store)(nil)
)

// Store is an in-memory storage.KeyValue and storage.KeySet. The zero value
// is not usable; call New. It is safe for concurrent use.
type Store struct {
	closed atomic.Bool
	now    func() time.Time
	seed   maphash.Seed
	kv     [shardCount]kvShard
	sets   [shardCount]setShard
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes TTL expiry use now instead of time.Now, so tests can move
// time by hand. now must be safe for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// New returns an empty, open Store.
func New(opts ...Option) *Store {
	s := &Store{now: time.Now, seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(s)
	}
	for i := range s.kv {
		s.kv[i].entries = make(map[string]*entry)
		s.sets[i].sets = make(map[string]*memberSet)
	}
	return s
}

// Close drops all data. Later calls return storage.ErrClosed; a second Close
// returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// Operations re-check closed under their shard lock, so once a shard has
	// been cleared here nothing can write to it again.
	for i := range s.kv {
		sh := &s.kv[i]
		sh.mu.Lock()
		sh.entries, sh.expiry = nil, nil
		sh.mu.Unlock()
	}
	for i := range s.sets {
		sh := &s.sets[i]
		sh.mu.Lock()
		sh.sets = nil
		sh.mu.Unlock()
	}
	return nil
}

// check is the common entry test of every operation: a dead context wins
// over a closed store so callers see why their own call stopped.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return nil
}

func (s *Store) shardIndex(key string) uint64 {
	return maphash.String(s.seed, key) & (shardCount - 1)
}

package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/weftio/weft/storage"
)

// setShard is one independently locked slice of the set key space.
type setShard struct {
	mu   sync.RWMutex
	sets map[string]*memberSet
	// nextSeq numbers members across all sets of the shard. It never goes
	// back, so a set that is emptied (and dropped) and then re-created does
	// not reuse the numbers of cursors handed out before.
	nextSeq uint64
	// Keeps neighbouring shards' hot mutexes off one cache line.
	_ [64]byte
}

// Add implements storage.KeySet. member is copied.
func (s *Store) Add(ctx context.Context, key string, member []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	sh := &s.sets[s.shardIndex(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.closed.Load() {
		return storage.ErrClosed
	}
	set := sh.sets[key]
	if set == nil {
		set = newMemberSet()
		sh.sets[key] = set
	}
	// The map lookup with string(member) does not allocate; only a new
	// member pays for its copy.
	if set.has(member) {
		return nil
	}
	sh.nextSeq++
	set.add(string(member), sh.nextSeq)
	return nil
}

// Remove implements storage.KeySet.
func (s *Store) Remove(ctx context.Context, key string, member []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	sh := &s.sets[s.shardIndex(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.closed.Load() {
		return storage.ErrClosed
	}
	set := sh.sets[key]
	if set == nil {
		return nil
	}
	set.remove(member)
	if set.len() == 0 {
		// An empty set is an absent one; don't keep its bookkeeping around.
		delete(sh.sets, key)
	}
	return nil
}

// Page implements storage.KeySet. Members come in the order they were added;
// cursors are opaque and only meaningful for the Store (and key) that issued
// them. A limit <= 0 or a malformed cursor is an error.
func (s *Store) Page(ctx context.Context, key string, cursor string, limit int) ([][]byte, string, error) {
	if err := s.check(ctx); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", fmt.Errorf("memory: page limit must be positive, got %d", limit)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}

	sh := &s.sets[s.shardIndex(key)]
	sh.mu.RLock()
	if s.closed.Load() {
		sh.mu.RUnlock()
		return nil, "", storage.ErrClosed
	}
	var page []string
	var last uint64
	more := false
	if set := sh.sets[key]; set != nil {
		page, last, more = set.page(after, limit)
	}
	sh.mu.RUnlock()

	// Member strings are immutable, so the copies out need no lock.
	members := make([][]byte, len(page))
	for i, m := range page {
		members[i] = []byte(m)
	}
	next := ""
	if more {
		next = encodeCursor(last)
	}
	return members, next, nil
}

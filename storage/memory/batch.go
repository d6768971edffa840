package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/weftio/weft/storage"
)

// GetMany implements storage.KeyValue.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]storage.Entry, error) {
	out := make([]storage.Entry, len(keys))
	for i, k := range keys {
		v, ver, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		out[i] = storage.Entry{Value: v, Version: ver}
	}
	return out, nil
}

// PutMany implements storage.KeyValue: it locks every shard involved, in
// index order so concurrent batches cannot deadlock, checks every expected
// version, and only then writes.
func (s *Store) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(writes))
	var shards []uint64
	for _, w := range writes {
		if seen[w.Key] {
			return nil, fmt.Errorf("storage: PutMany: key %q appears twice", w.Key)
		}
		seen[w.Key] = true
		shards = append(shards, s.shardIndex(w.Key))
	}
	slices.Sort(shards)
	shards = slices.Compact(shards)
	for _, i := range shards {
		s.kv[i].mu.Lock()
	}
	defer func() {
		for _, i := range shards {
			s.kv[i].mu.Unlock()
		}
	}()
	if s.closed.Load() {
		return nil, storage.ErrClosed
	}
	var clock lazyClock
	clock.now = s.now
	for _, w := range writes {
		sh := &s.kv[s.shardIndex(w.Key)]
		var current uint64
		if e := sh.live(w.Key, &clock); e != nil {
			current = e.version
		}
		if current != w.Expected {
			return nil, storage.ErrVersionConflict
		}
	}
	versions := make([]uint64, len(writes))
	for i, w := range writes {
		sh := &s.kv[s.shardIndex(w.Key)]
		e := sh.entries[w.Key]
		if w.Value == nil {
			if e != nil {
				sh.remove(e)
			}
			continue
		}
		if e == nil {
			e = &entry{key: w.Key, heapIndex: -1}
			sh.entries[w.Key] = e
		}
		e.value = slices.Clone(w.Value)
		if e.value == nil {
			e.value = []byte{}
		}
		e.version++
		if w.TTL > 0 {
			sh.expiry.schedule(e, clock.get().Add(w.TTL))
		} else if e.hasTTL() {
			sh.expiry.cancel(e)
		}
		versions[i] = e.version
	}
	return versions, nil
}

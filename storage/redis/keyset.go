package redis

import (
	"context"
	"fmt"
	"math"

	goredis "github.com/redis/go-redis/v9"
)

// A set is a sorted set whose members all have score 0. Redis then orders
// them by their bytes (memcmp), and ZRANGEBYLEX pages through them from an
// exclusive lower bound: the last member returned. That order is total and
// a removal or an addition never moves other members, so a member present
// for the whole paging is returned exactly once; SSCAN, which Infinitic
// uses, may return a member twice and needs leftovers carried in the cursor.

// Add implements storage.KeySet. member is sent as is (binary-safe).
func (s *Store) Add(ctx context.Context, key string, member []byte) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.client.ZAdd(ctx, s.setPrefix+key, goredis.Z{Score: 0, Member: member}).Err(); err != nil {
		return s.fail(ctx, "add to", key, err)
	}
	return nil
}

// Remove implements storage.KeySet. Redis drops a sorted set when its last
// member goes, so an emptied set is an absent one.
func (s *Store) Remove(ctx context.Context, key string, member []byte) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.client.ZRem(ctx, s.setPrefix+key, member).Err(); err != nil {
		return s.fail(ctx, "remove from", key, err)
	}
	return nil
}

// Page implements storage.KeySet. Members come in byte order. The cursor
// holds the last member returned, so it is as long as that member (base64);
// it stays valid across restarts and for every Store on the same key
// prefix. A limit <= 0 or a malformed cursor is an error.
func (s *Store) Page(ctx context.Context, key string, cursor string, limit int) ([][]byte, string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", fmt.Errorf("redis: page limit must be positive, got %d", limit)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	// One member more than asked tells whether another page exists, so the
	// last page says so itself instead of costing an empty round trip.
	count := int64(limit)
	if count < math.MaxInt64 {
		count++
	}
	ms, err := s.client.ZRangeArgs(ctx, goredis.ZRangeArgs{
		Key: s.setPrefix + key, Start: after, Stop: "+", ByLex: true, Count: count,
	}).Result()
	if err != nil {
		return nil, "", s.fail(ctx, "page", key, err)
	}
	more := len(ms) > limit
	if more {
		ms = ms[:limit]
	}
	members := make([][]byte, len(ms))
	for i, m := range ms {
		members[i] = []byte(m)
	}
	next := ""
	if more {
		next = encodeCursor(ms[len(ms)-1])
	}
	return members, next, nil
}

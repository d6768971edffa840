package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/weftio/weft/storage"
)

// Get implements storage.KeyValue. One HMGET reads value and version
// together, so they always belong to the same write.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.begin(ctx); err != nil {
		return nil, 0, err
	}
	vals, err := s.client.HMGet(ctx, s.kvPrefix+key, "v", "ver").Result()
	if err != nil {
		return nil, 0, s.fail(ctx, "get", key, err)
	}
	e, err := entryOf(vals)
	if err != nil {
		return nil, 0, s.fail(ctx, "get", key, err)
	}
	return e.Value, e.Version, nil
}

// GetMany implements storage.KeyValue with one pipelined round trip. Each
// entry is consistent in itself; the batch is not a snapshot, as the
// interface allows.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]storage.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	out := make([]storage.Entry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.SliceCmd, len(keys))
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, s.kvPrefix+k, "v", "ver")
		}
		return nil
	})
	if err != nil {
		// Name the first key that failed: a WRONGTYPE fails only its own
		// command, a broken connection fails them all.
		for i, c := range cmds {
			if c.Err() != nil {
				return nil, s.fail(ctx, "get", keys[i], c.Err())
			}
		}
		return nil, s.fail(ctx, "get", keys[0], err)
	}
	for i, c := range cmds {
		e, err := entryOf(c.Val())
		if err != nil {
			return nil, s.fail(ctx, "get", keys[i], err)
		}
		out[i] = e
	}
	return out, nil
}

// entryOf decodes an HMGET v ver reply. A missing version is an absent (or
// expired) key.
func entryOf(vals []any) (storage.Entry, error) {
	if len(vals) != 2 || vals[1] == nil {
		return storage.Entry{}, nil
	}
	verText, _ := vals[1].(string)
	ver, err := strconv.ParseUint(verText, 10, 64)
	if err != nil || ver == 0 {
		return storage.Entry{}, fmt.Errorf("stored version %q is not a positive number: the key holds data weft did not write", verText)
	}
	v, _ := vals[0].(string)
	// The conversion copies, so the caller owns the slice; it is non-nil
	// even when empty, because an empty value is present, not absent.
	return storage.Entry{Value: []byte(v), Version: ver}, nil
}

// Put implements storage.KeyValue. value is sent as is and a nil value
// stores an empty one.
func (s *Store) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if value == nil {
		value = []byte{} // nil means delete to the batch script
	}
	vs, err := s.write(ctx, "put", []storage.Write{{Key: key, Value: value, Expected: expected, TTL: ttl}})
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

// Delete implements storage.KeyValue.
func (s *Store) Delete(ctx context.Context, key string, expected uint64) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.write(ctx, "delete", []storage.Write{{Key: key, Expected: expected}})
	return err
}

// PutMany implements storage.KeyValue in one script run, so the batch is
// applied whole or not at all (see writeScript).
func (s *Store) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return []uint64{}, nil
	}
	seen := make(map[string]bool, len(writes))
	for _, w := range writes {
		if seen[w.Key] {
			return nil, fmt.Errorf("redis: PutMany: key %q appears twice", w.Key)
		}
		seen[w.Key] = true
	}
	return s.write(ctx, "put", writes)
}

// maxValue is the largest string a Redis server accepts by default
// (proto-max-bulk-len, 512 MiB).
const maxValue = 512 << 20

// write runs writeScript; a nil Value deletes.
func (s *Store) write(ctx context.Context, op string, writes []storage.Write) ([]uint64, error) {
	for _, w := range writes {
		if len(w.Value) > maxValue {
			return nil, fmt.Errorf("redis: %s %q: %w: the value is %d bytes, at most %d fit in a Redis string", op, w.Key, storage.ErrTooLarge, len(w.Value), maxValue)
		}
	}
	keys := make([]string, len(writes))
	args := make([]any, 0, 3*len(writes))
	for i, w := range writes {
		keys[i] = s.kvPrefix + w.Key
		mode := "d"
		if w.Value != nil {
			mode = ttlMillis(w.TTL)
		}
		// []byte goes to the wire unchanged: binary-safe, and not retained
		// after the call returns.
		args = append(args, strconv.FormatUint(w.Expected, 10), mode, w.Value)
	}
	res, err := writeScript.Run(ctx, s.client, keys, args...).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, storage.ErrVersionConflict
	}
	if err != nil {
		return nil, s.fail(ctx, op, writes[0].Key, err)
	}
	list, ok := res.([]any)
	if !ok || len(list) != len(writes) {
		return nil, s.fail(ctx, op, writes[0].Key, fmt.Errorf("unexpected script reply %T", res))
	}
	out := make([]uint64, len(writes))
	for i, v := range list {
		n, ok := v.(int64)
		if !ok || n < 0 {
			return nil, s.fail(ctx, op, writes[i].Key, fmt.Errorf("unexpected version %v in script reply", v))
		}
		out[i] = uint64(n)
	}
	return out, nil
}

// ttlMillis renders a TTL for PEXPIRE: "0" for none, else whole
// milliseconds rounded up, so a sub-millisecond TTL still expires rather
// than meaning "for ever".
func ttlMillis(ttl time.Duration) string {
	if ttl <= 0 {
		return "0"
	}
	ms := ttl / time.Millisecond
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return strconv.FormatInt(int64(ms), 10)
}

// MaxValueSize implements storage.Limited: the server's default largest
// string.
func (s *Store) MaxValueSize() int { return maxValue }

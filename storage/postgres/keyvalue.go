package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/storage"
)

// Get implements storage.KeyValue. The returned slice is the caller's own
// (pgx copies out of its read buffer); an empty stored value is returned as
// a non-nil empty slice.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	var (
		value   []byte
		version int64
	)
	err := s.retryRead(ctx, func() error {
		return s.pool.QueryRow(ctx, s.q.get, key).Scan(&value, &version)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, s.fail(ctx, "get", key, err)
	}
	return nonNil(value), uint64(version), nil
}

// Put implements storage.KeyValue. A nil value stores an empty one (BYTEA
// is NOT NULL: absence is the row's absence, never a NULL value).
func (s *Store) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	return s.put(ctx, key, value, expected, ttl, nil)
}

// put is Put, with hook (when set) run in the same transaction as the
// write (see PutTx).
func (s *Store) put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook storage.TxHook) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := checkValue(len(value)); err != nil {
		return 0, err
	}
	if expected > math.MaxInt64 {
		// Versions are BIGINT, so no stored version can match.
		return 0, storage.ErrVersionConflict
	}
	value = nonNil(value)
	var version int64
	write := func(q interface {
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}) error {
		if expected == 0 {
			return q.QueryRow(ctx, s.q.insert, key, value, ttlMicros(ttl)).Scan(&version)
		}
		return q.QueryRow(ctx, s.q.update, key, value, ttlMicros(ttl), int64(expected)).Scan(&version)
	}
	err := s.retry(ctx, func() error {
		if hook == nil {
			return write(s.pool)
		}
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			if err := write(tx); err != nil {
				return err
			}
			if err := hook(ctx, tx); err != nil {
				return &hookError{err}
			}
			return nil
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// The statement matched no row: the key is live (expected 0) or
		// absent, expired or at another version (expected > 0).
		return 0, storage.ErrVersionConflict
	}
	var he *hookError
	if errors.As(err, &he) {
		return 0, fmt.Errorf("postgres: put %s: in the same transaction: %w", quoteKey(key), he.err)
	}
	if err != nil {
		return 0, s.fail(ctx, "put", key, err)
	}
	return uint64(version), nil
}

// Delete implements storage.KeyValue.
func (s *Store) Delete(ctx context.Context, key string, expected uint64) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if expected > math.MaxInt64 {
		return storage.ErrVersionConflict
	}
	var conflict bool
	err := s.retry(ctx, func() error {
		if expected == 0 {
			return s.pool.QueryRow(ctx, s.q.deleteAbsent, key).Scan(&conflict)
		}
		tag, err := s.pool.Exec(ctx, s.q.deleteVersion, key, int64(expected))
		conflict = err == nil && tag.RowsAffected() == 0
		return err
	})
	if err != nil {
		return s.fail(ctx, "delete", key, err)
	}
	if conflict {
		return storage.ErrVersionConflict
	}
	return nil
}

// GetMany implements storage.KeyValue with one query for all keys. Repeated
// keys are allowed and each gets its entry.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]storage.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]storage.Entry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
	}
	found := make(map[string]storage.Entry, len(keys))
	err := s.retryRead(ctx, func() error {
		clear(found)
		rows, err := s.pool.Query(ctx, s.q.getMany, keys)
		if err != nil {
			return err
		}
		var (
			key     string
			value   []byte
			version int64
		)
		_, err = pgx.ForEachRow(rows, []any{&key, &value, &version}, func() error {
			found[key] = storage.Entry{Value: nonNil(value), Version: uint64(version)}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail(ctx, "get many, first", keys[0], err)
	}
	handed := make(map[string]bool, len(found))
	for i, k := range keys {
		e, ok := found[k]
		if ok && handed[k] {
			// A repeated key must not share its slice with another entry.
			e.Value = append([]byte{}, e.Value...)
		}
		handed[k] = ok
		out[i] = e
	}
	return out, nil
}

// ttlMicros converts a TTL to the microseconds the SQL expects, 0 meaning no
// expiry. A positive TTL below a microsecond rounds up rather than to 0,
// which would mean "for ever".
func ttlMicros(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	m := int64(ttl / time.Microsecond)
	if ttl%time.Microsecond != 0 {
		m++
	}
	return m
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// maxValue is the largest value a BYTEA column holds (1 GiB, less a
// little for the server's own header).
const maxValue = 1<<30 - 1<<10

// checkValue refuses a value the column cannot hold, before sending it.
func checkValue(n int) error {
	if n > maxValue {
		return fmt.Errorf("postgres: %w: the value is %d bytes, at most %d fit in a bytea", storage.ErrTooLarge, n, maxValue)
	}
	return nil
}

// MaxValueSize implements storage.Limited: what a bytea column holds.
func (s *Store) MaxValueSize() int { return maxValue }

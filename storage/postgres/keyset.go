package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// maxPageLimit caps one page so a huge limit cannot pull a whole set into
// memory at once. A capped page still carries a cursor, which the contract
// allows (pages may be short).
const maxPageLimit = 10_000

// Add implements storage.KeySet; adding a present member changes nothing
// (ON CONFLICT DO NOTHING, so concurrent adds of one member never fail).
func (s *Store) Add(ctx context.Context, key string, member []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	member = nonNil(member) // nil and empty are the same member
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, s.q.add, key, member)
		return err
	})
	if err != nil {
		return s.fail(ctx, "add to set", key, err)
	}
	return nil
}

// Remove implements storage.KeySet; removing an absent member is a no-op.
func (s *Store) Remove(ctx context.Context, key string, member []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	member = nonNil(member)
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, s.q.remove, key, member)
		return err
	})
	if err != nil {
		return s.fail(ctx, "remove from set", key, err)
	}
	return nil
}

// Page implements storage.KeySet by key-set paging on the row id: members
// come in insertion order, and the cursor is the last id returned, so
// removals never shift what is still to come. It asks for one row more than
// it returns to know, without an extra query, whether another page exists.
func (s *Store) Page(ctx context.Context, key string, cursor string, limit int) ([][]byte, string, error) {
	if err := s.check(ctx); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", fmt.Errorf("postgres: page limit %d: must be at least 1", limit)
	}
	if err := checkKey(key); err != nil {
		return nil, "", err
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	n := min(limit, maxPageLimit)

	var (
		members [][]byte
		lastID  int64
		more    bool
	)
	err = s.retryRead(ctx, func() error {
		members, lastID, more = members[:0], 0, false
		rows, err := s.pool.Query(ctx, s.q.page, key, after, n+1)
		if err != nil {
			return err
		}
		var (
			id     int64
			member []byte
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &member}, func() error {
			if len(members) == n {
				more = true
				return nil
			}
			members = append(members, nonNil(member))
			lastID = id
			return nil
		})
		return err
	})
	if err != nil {
		return nil, "", s.fail(ctx, "page set", key, err)
	}
	if !more {
		return members, "", nil
	}
	return members, encodeCursor(lastID), nil
}

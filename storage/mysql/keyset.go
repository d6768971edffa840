package mysql

import (
	"context"
	"fmt"
)

// maxPageLimit caps one page so a huge limit cannot pull a whole set into
// memory at once; pages may be shorter than asked, and the cursor goes on.
const maxPageLimit = 100_000

// Add implements storage.KeySet. The insert is one autocommit statement;
// a member already present leaves its row (and its place in paging) as is.
func (s *Store) Add(ctx context.Context, key string, member []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if len(member) > s.maxValue {
		return s.tooLarge(fmt.Sprintf("member of set %q", key), len(member))
	}
	if member == nil {
		member = []byte{} // the column is NOT NULL; nil is the empty member
	}
	err := retry(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.sql.ksAdd, hashOf(key), []byte(key), hashOf(member), member)
		return err
	})
	if err != nil {
		return s.fail(fmt.Sprintf("add to set %q", key), err)
	}
	return nil
}

// Remove implements storage.KeySet. The full key and member are compared,
// not only their hashes.
func (s *Store) Remove(ctx context.Context, key string, member []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if checkKey(key) != nil || len(member) > s.maxValue {
		return nil // cannot have been added
	}
	if member == nil {
		member = []byte{}
	}
	err := retry(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.sql.ksRemove, hashOf(key), []byte(key), hashOf(member), member)
		return err
	})
	if err != nil {
		return s.fail(fmt.Sprintf("remove from set %q", key), err)
	}
	return nil
}

// Page implements storage.KeySet. Members come in the order they were first
// added (the id column); the cursor is the last id returned, so removals and
// additions between pages never shift members not yet returned. A limit <= 0
// or a malformed cursor is an error.
func (s *Store) Page(ctx context.Context, key string, cursor string, limit int) ([][]byte, string, error) {
	if err := s.check(ctx); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", fmt.Errorf("mysql: page limit must be positive, got %d", limit)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if checkKey(key) != nil {
		return [][]byte{}, "", nil
	}
	limit = min(limit, maxPageLimit)
	// One extra row says whether another page follows, so the last page
	// ends with "" instead of costing the caller an empty round trip.
	rows, err := s.db.QueryContext(ctx, s.sql.ksPage, hashOf(key), []byte(key), after, limit+1)
	if err != nil {
		return nil, "", s.fail(fmt.Sprintf("page set %q", key), err)
	}
	defer rows.Close()
	members := make([][]byte, 0, min(limit, 1024))
	var last uint64
	more := false
	for rows.Next() {
		if len(members) == limit {
			more = true
			break
		}
		var id uint64
		var m []byte
		if err := rows.Scan(&id, &m); err != nil {
			return nil, "", s.fail(fmt.Sprintf("page set %q", key), err)
		}
		if m == nil {
			m = []byte{}
		}
		members = append(members, m)
		last = id
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.fail(fmt.Sprintf("page set %q", key), err)
	}
	next := ""
	if more {
		next = encodeCursor(last)
	}
	return members, next, nil
}

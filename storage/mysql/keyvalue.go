package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftio/weft/storage"
)

// getManyChunk bounds the placeholders of one GetMany statement; larger
// requests run as several statements (GetMany is not a snapshot anyway).
const getManyChunk = 500

// Get implements storage.KeyValue. The returned slice is the caller's own;
// an empty stored value comes back as a non-nil empty slice.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkKey(key); err != nil {
		// A key that cannot be stored is not stored.
		return nil, 0, nil
	}
	var v []byte
	var version uint64
	err := s.db.QueryRowContext(ctx, s.sql.kvGet, hashOf(key), []byte(key)).Scan(&v, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, s.fail(fmt.Sprintf("get %q", key), err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, version, nil
}

// GetMany implements storage.KeyValue with one statement per getManyChunk
// keys. Repeated keys are allowed and each gets its entry.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]storage.Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]storage.Entry, len(keys))
	for start := 0; start < len(keys); start += getManyChunk {
		end := min(start+getManyChunk, len(keys))
		if err := s.getChunk(ctx, keys[start:end], out[start:end]); err != nil {
			return nil, s.fail(fmt.Sprintf("get %d keys", len(keys)), err)
		}
	}
	return out, nil
}

// getChunk fills out[i] for keys[i], leaving absent keys at version 0.
func (s *Store) getChunk(ctx context.Context, keys []string, out []storage.Entry) error {
	at := make(map[string][]int, len(keys)) // key → its positions in keys
	args := make([]any, 0, len(keys))
	for i, k := range keys {
		if checkKey(k) != nil {
			continue // cannot be stored, so absent
		}
		if _, seen := at[k]; !seen {
			args = append(args, hashOf(k))
		}
		at[k] = append(at[k], i)
	}
	if len(args) == 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(s.sql.kvGetMany, inList(len(args))), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var hash, k, v []byte
		var version uint64
		if err := rows.Scan(&hash, &k, &v, &version); err != nil {
			return err
		}
		if v == nil {
			v = []byte{}
		}
		// Matching on the full key, not the hash, keeps lookups exact.
		for n, i := range at[string(k)] {
			if n > 0 {
				v = append([]byte{}, v...) // each entry owns its bytes
			}
			out[i] = storage.Entry{Value: v, Version: version}
		}
	}
	return rows.Err()
}

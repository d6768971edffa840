package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/weftio/weft/storage"
)

// lockChunk bounds the placeholders of one locking SELECT. Chunks are taken
// in key_hash order, so a large batch still locks in one global order.
const lockChunk = 500

// Put implements storage.KeyValue. value is sent as is (the driver copies
// it into the packet); nil stores an empty value.
func (s *Store) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if value == nil {
		value = []byte{}
	}
	vs, err := s.write(ctx, fmt.Sprintf("put %q", key), []storage.Write{{Key: key, Value: value, Expected: expected, TTL: ttl}})
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

// Delete implements storage.KeyValue.
func (s *Store) Delete(ctx context.Context, key string, expected uint64) error {
	_, err := s.write(ctx, fmt.Sprintf("delete %q", key), []storage.Write{{Key: key, Expected: expected}})
	return err
}

// PutMany implements storage.KeyValue: one transaction that locks every row
// involved, checks every expected version, then writes.
func (s *Store) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	if len(writes) == 0 {
		return []uint64{}, s.check(ctx)
	}
	return s.write(ctx, fmt.Sprintf("put batch of %d", len(writes)), writes)
}

// pending is one write with its row's primary key, in lock order.
type pending struct {
	storage.Write
	hash []byte
	pos  int // index in the caller's batch
}

// write validates a batch and runs it as one transaction, again on a
// deadlock or lock wait timeout.
func (s *Store) write(ctx context.Context, op string, writes []storage.Write) ([]uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	batch := make([]pending, len(writes))
	for i, w := range writes {
		if err := checkKey(w.Key); err != nil {
			return nil, err
		}
		if len(w.Value) > s.maxValue {
			return nil, s.tooLarge(fmt.Sprintf("value of %q", w.Key), len(w.Value))
		}
		batch[i] = pending{Write: w, hash: hashOf(w.Key), pos: i}
	}
	// Every transaction locks rows in key_hash order, so two batches
	// sharing keys queue behind each other instead of deadlocking.
	slices.SortFunc(batch, func(a, b pending) int { return bytes.Compare(a.hash, b.hash) })
	for i := 1; i < len(batch); i++ {
		if batch[i].Key == batch[i-1].Key {
			return nil, fmt.Errorf("mysql: %s: key %q appears twice", op, batch[i].Key)
		}
	}
	versions := make([]uint64, len(writes))
	err := retry(ctx, func() error { return s.writeTx(ctx, batch, versions) })
	if err != nil {
		return nil, s.fail(op, err)
	}
	return versions, nil
}

// row is what the locking read learns about one stored key.
type row struct {
	version uint64
	live    bool // false: expired, which counts as absent
}

// writeTx is one attempt at a batch. READ COMMITTED because under
// REPEATABLE READ a locking read of an absent key takes a gap lock, and two
// writers creating neighbouring keys would then deadlock on their inserts;
// here the second insert of the same key fails with a duplicate key, which
// is exactly a version conflict.
func (s *Store) writeTx(ctx context.Context, batch []pending, versions []uint64) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op after Commit

	rows, err := s.lockRows(ctx, tx, batch)
	if err != nil {
		return err
	}
	for _, w := range batch {
		var current uint64
		if r, ok := rows[string(w.hash)]; ok && r.live {
			current = r.version
		}
		if current != w.Expected {
			return storage.ErrVersionConflict
		}
	}
	for _, w := range batch {
		r, stored := rows[string(w.hash)]
		switch {
		case w.Value == nil && stored:
			// Expired rows go too: they are absent already.
			_, err = tx.ExecContext(ctx, s.sql.kvDelete, w.hash)
			versions[w.pos] = 0
		case w.Value == nil:
			versions[w.pos] = 0
		case stored:
			next := uint64(1)
			if r.live {
				next = r.version + 1
			}
			_, err = tx.ExecContext(ctx, s.sql.kvUpdate, []byte(w.Key), w.Value, next, ttlMicros(w.TTL), w.hash)
			versions[w.pos] = next
		default:
			_, err = tx.ExecContext(ctx, s.sql.kvInsert, w.hash, []byte(w.Key), w.Value, ttlMicros(w.TTL))
			if isServerError(err, erDupEntry) {
				// Created by another writer since our read, which took no
				// lock on the absent row.
				return storage.ErrVersionConflict
			}
			versions[w.pos] = 1
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// lockRows reads and locks the stored rows of a batch (in key_hash order),
// keyed by hash. Absent keys have no entry.
func (s *Store) lockRows(ctx context.Context, tx *sql.Tx, batch []pending) (map[string]row, error) {
	out := make(map[string]row, len(batch))
	for start := 0; start < len(batch); start += lockChunk {
		chunk := batch[start:min(start+lockChunk, len(batch))]
		args := make([]any, len(chunk))
		keys := make(map[string]string, len(chunk)) // hash → key
		for i, w := range chunk {
			args[i] = w.hash
			keys[string(w.hash)] = w.Key
		}
		rs, err := tx.QueryContext(ctx, fmt.Sprintf(s.sql.kvLock, inList(len(args))), args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var hash, k []byte
			var r row
			if err := rs.Scan(&hash, &k, &r.version, &r.live); err != nil {
				rs.Close()
				return nil, err
			}
			if want := keys[string(hash)]; string(k) != want {
				rs.Close()
				return nil, fmt.Errorf("SHA-256 collision between keys %q and %q", k, want)
			}
			out[string(hash)] = r
		}
		err = rs.Err()
		if cerr := rs.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ttlMicros is the expires_at argument: NULL for no TTL, else at least one
// microsecond (the column's precision) so a tiny TTL still expires.
func ttlMicros(ttl time.Duration) any {
	if ttl <= 0 {
		return nil
	}
	return max(ttl.Microseconds(), 1)
}

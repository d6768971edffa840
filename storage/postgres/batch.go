package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/storage"
)

// PutMany implements storage.KeyValue: every write in one READ COMMITTED
// transaction, each the same check-and-write statement as Put or Delete (an
// "absent" check claims the key, see queries.claimAbsent), sent as one
// pipelined batch. Any statement that matches nothing rolls everything back
// with ErrVersionConflict.
//
// Statements run in key order, so two batches sharing keys lock them in the
// same order and wait for each other instead of deadlocking; every key a
// batch touches stays locked until it commits, which makes batches
// serializable with respect to each other and to single writes.
func (s *Store) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	return s.putMany(ctx, writes, nil)
}

// PutManyTx implements storage.TxKeyValue: PutMany's transaction also runs
// hook, once every write succeeded; hook receives the pgx.Tx.
func (s *Store) PutManyTx(ctx context.Context, writes []storage.Write, hook storage.TxHook) ([]uint64, error) {
	return s.putMany(ctx, writes, hook)
}

func (s *Store) putMany(ctx context.Context, writes []storage.Write, hook storage.TxHook) ([]uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	versions := make([]uint64, len(writes))
	if len(writes) == 0 {
		return versions, nil
	}
	seen := make(map[string]bool, len(writes))
	for _, w := range writes {
		if seen[w.Key] {
			return nil, fmt.Errorf("postgres: PutMany: key %s appears twice", quoteKey(w.Key))
		}
		seen[w.Key] = true
		if err := checkKey(w.Key); err != nil {
			return nil, err
		}
		if err := checkValue(len(w.Value)); err != nil {
			return nil, err
		}
	}
	for _, w := range writes {
		if w.Expected > math.MaxInt64 {
			return nil, storage.ErrVersionConflict
		}
	}
	if len(writes) == 1 && hook == nil {
		// One write is atomic on its own; skip the transaction.
		return s.putOne(ctx, writes[0])
	}

	order := make([]int, len(writes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(writes[a].Key, writes[b].Key) })

	err := s.retry(ctx, func() error {
		clear(versions)
		// READ COMMITTED explicitly: the row locks, not the isolation level,
		// make batches safe, and a server whose default is SERIALIZABLE would
		// only add retries.
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			if err := s.applyBatch(ctx, tx, writes, order, versions); err != nil {
				return err
			}
			if hook != nil {
				if err := hook(ctx, tx); err != nil {
					return &hookError{err}
				}
			}
			return nil
		})
	})
	var he *hookError
	if errors.As(err, &he) {
		return nil, fmt.Errorf("postgres: put many, first %s: in the same transaction: %w", quoteKey(writes[order[0]].Key), he.err)
	}
	if err != nil {
		return nil, s.fail(ctx, "put many, first", writes[order[0]].Key, err)
	}
	return versions, nil
}

// applyBatch sends the statements of every write in one round trip and reads
// the results; returning an error makes BeginTxFunc roll back.
func (s *Store) applyBatch(ctx context.Context, tx pgx.Tx, writes []storage.Write, order []int, versions []uint64) error {
	b := &pgx.Batch{}
	for _, i := range order {
		w := writes[i]
		switch {
		case w.Value == nil && w.Expected == 0:
			b.Queue(s.q.claimAbsent, w.Key)
			b.Queue(s.q.releaseClaim, w.Key)
		case w.Value == nil:
			b.Queue(s.q.deleteVersion, w.Key, int64(w.Expected))
		case w.Expected == 0:
			b.Queue(s.q.insert, w.Key, w.Value, ttlMicros(w.TTL))
		default:
			b.Queue(s.q.update, w.Key, w.Value, ttlMicros(w.TTL), int64(w.Expected))
		}
	}
	br := tx.SendBatch(ctx, b)
	conflict, err := readBatch(br, writes, order, versions)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if conflict {
		return storage.ErrVersionConflict
	}
	return nil
}

// readBatch reads the results in the order applyBatch queued them. It keeps
// reading after a conflict: the batch is already on the wire, and a real
// error later on must win over the conflict.
func readBatch(br pgx.BatchResults, writes []storage.Write, order []int, versions []uint64) (conflict bool, err error) {
	for _, i := range order {
		w := writes[i]
		switch {
		case w.Value == nil && w.Expected == 0:
			var v int64
			err := br.QueryRow().Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				conflict = true
			} else if err != nil {
				return false, err
			}
			if _, err := br.Exec(); err != nil {
				return false, err
			}
		case w.Value == nil:
			tag, err := br.Exec()
			if err != nil {
				return false, err
			}
			conflict = conflict || tag.RowsAffected() == 0
		default:
			var v int64
			err := br.QueryRow().Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				conflict = true
			} else if err != nil {
				return false, err
			}
			versions[i] = uint64(v)
		}
	}
	return conflict, nil
}

// putOne applies a single write with the plain single-statement operations.
func (s *Store) putOne(ctx context.Context, w storage.Write) ([]uint64, error) {
	if w.Value == nil {
		if err := s.Delete(ctx, w.Key, w.Expected); err != nil {
			return nil, err
		}
		return []uint64{0}, nil
	}
	v, err := s.Put(ctx, w.Key, w.Value, w.Expected, w.TTL)
	if err != nil {
		return nil, err
	}
	return []uint64{v}, nil
}

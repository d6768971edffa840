package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"
)

// Expired rows read as absent at once, but stay on disk until something
// deletes them. A write to the same key reuses the row; the sweeper removes
// the rest, so keys written once with a TTL do not pile up for ever.
const (
	defaultSweepInterval = time.Minute
	sweepBatch           = 500 // rows per DELETE: short locks, small statements
	sweepMaxBatches      = 20  // per tick, so one tick never runs long
)

// startSweeper runs sweepExpired every interval (with jitter, so many
// processes sharing a database spread out) until Close.
func (s *Store) startSweeper(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSweep = cancel
	s.swept = make(chan struct{})
	go func() {
		defer close(s.swept)
		for {
			t := time.NewTimer(interval/2 + rand.N(interval))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			n, err := s.sweepExpired(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("mysql: deleting expired keys failed; will retry", "table", s.cfg.KeyValueTable, "err", err)
			case n > 0:
				s.log.Debug("mysql: deleted expired keys", "table", s.cfg.KeyValueTable, "rows", n)
			}
		}
	}()
}

// sweepExpired deletes expired rows, a bounded number per call, and
// returns how many it deleted. It finds them without locks, then deletes by
// primary key in key_hash order (the order writers lock in) and re-checks
// expiry, so a row rewritten in between survives.
func (s *Store) sweepExpired(ctx context.Context) (int64, error) {
	var total int64
	for range sweepMaxBatches {
		hashes, err := s.expiredHashes(ctx)
		if err != nil || len(hashes) == 0 {
			return total, err
		}
		var res sql.Result
		err = retry(ctx, func() error {
			var err error
			res, err = s.db.ExecContext(ctx, fmt.Sprintf(s.sql.kvDeleteExpire, inList(len(hashes))), hashes...)
			return err
		})
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if len(hashes) < sweepBatch {
			return total, nil
		}
	}
	return total, nil
}

func (s *Store) expiredHashes(ctx context.Context) ([]any, error) {
	rows, err := s.db.QueryContext(ctx, s.sql.kvExpired, sweepBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hashes []any
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return hashes, rows.Err()
}

package postgres

import (
	"context"
	"time"
)

// Expired rows already read as absent; the sweeper only reclaims their
// space. It runs rarely and in bounded batches so it never competes with
// real traffic, and several processes sweeping one table skip each other's
// rows (SKIP LOCKED) instead of queueing.
const (
	sweepInterval   = time.Minute
	sweepBatch      = 1000
	sweepMaxBatches = 10 // per tick; a larger backlog drains over later ticks
)

// sweepLoop calls deleteExpired every sweepInterval until ctx ends (Close).
// Errors are dropped: the next tick tries again, and a failing server shows
// up in the caller's own operations, which is where it can be handled.
func (s *Store) sweepLoop(ctx context.Context) {
	defer close(s.sweepDone)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for range sweepMaxBatches {
			n, err := s.deleteExpired(ctx, sweepBatch)
			if err != nil || n < sweepBatch {
				break
			}
		}
	}
}

// DeleteExpired removes every key-value row whose TTL has passed and returns
// how many it removed. Expired keys already behave as absent, so calling it
// is never needed for correctness; the Store runs it in the background every
// minute. It is exported for maintenance jobs and tests.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		if err := s.check(ctx); err != nil {
			return total, err
		}
		n, err := s.deleteExpired(ctx, sweepBatch)
		total += n
		if err != nil {
			return total, s.fail(ctx, "delete expired", "", err)
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}

// deleteExpired removes at most limit expired rows.
func (s *Store) deleteExpired(ctx context.Context, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, s.q.sweep, limit)
	return tag.RowsAffected(), err
}

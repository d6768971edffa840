package pgqueue

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// cleanupBatch bounds one DELETE so the cleanup never holds many row locks
// or produces one huge transaction.
const cleanupBatch = 1000

// cleanupLoop runs Cleanup every CleanupInterval until Close. Errors are
// logged and the next tick tries again.
func (t *Transport) cleanupLoop() {
	tick := time.NewTicker(t.cfg.CleanupInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := t.Cleanup(t.ctx); err != nil {
			if t.ctx.Err() == nil {
				t.log.Warn("pgqueue: cleanup failed", "err", err)
			}
		} else if n > 0 {
			t.log.Debug("pgqueue: cleanup", "rows", n)
		}
	}
}

// Cleanup deletes the rows of the acked table older than Config.Retention
// and those of the dead_letters table older than Config.DeadLetterRetention
// (a zero retention keeps the table's rows: acked is then unused, and dead
// letters are kept for ever), and makes the messages of a keyed group
// visible again if they were left waiting behind a message deleted by hand.
// The transport runs it every CleanupInterval; it is exported for
// maintenance jobs and tests. It returns how many rows it changed.
func (t *Transport) Cleanup(ctx context.Context) (int64, error) {
	var total int64
	for _, job := range []struct {
		sql       string
		retention time.Duration
	}{
		{t.q.sweepAcked, t.cfg.Retention},
		{t.q.sweepDead, t.cfg.DeadLetterRetention},
	} {
		if job.retention <= 0 {
			continue
		}
		for {
			tag, err := t.pool.Exec(ctx, job.sql, job.retention.Microseconds(), cleanupBatch)
			if err != nil {
				return total, t.fail(ctx, "cleanup", err)
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < cleanupBatch {
				break
			}
		}
	}
	n, err := t.repair(ctx)
	return total + n, err
}

// repair unparks stranded keys (see queries.repair) and wakes their
// consumers.
func (t *Transport) repair(ctx context.Context) (int64, error) {
	rows, _ := t.pool.Query(ctx, t.q.repair)
	topics, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, t.fail(ctx, "cleanup: repair parked messages", err)
	}
	if len(topics) == 0 {
		return 0, nil
	}
	t.log.Warn("pgqueue: made messages visible that waited behind a key with no message in flight (deleted by hand?)", "messages", len(topics))
	var wakes []string
	for _, tp := range slices.Compact(slices.Sorted(slices.Values(topics))) {
		wakes = append(wakes, wakeKey(tp))
		t.signals.wakeTopic(wakeKey(tp))
	}
	if _, err := t.pool.Exec(ctx, t.q.notify, t.channel, wakes); err != nil {
		return int64(len(topics)), t.fail(ctx, "cleanup: notify", err)
	}
	return int64(len(topics)), nil
}

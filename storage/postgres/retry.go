package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Retry policy for transient failures, as in Infinitic: a few attempts with
// exponential backoff and jitter, so colliding transactions do not collide
// again in lockstep.
const (
	maxAttempts = 5
	baseBackoff = 5 * time.Millisecond
	maxBackoff  = 200 * time.Millisecond
)

// retryable reports whether running the operation again is both safe and
// likely to help: the server rolled the transaction back because of a
// serialization failure or a deadlock (nothing was applied), or pgx failed
// before sending anything (e.g. a pooled connection found dead). For reads,
// which are safe to repeat whatever happened, any failure that is not the
// server's answer counts too, so the first read after a server restart, on
// a pooled connection the restart cut, does not fail.
func retryable(err error, read bool) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	if read && !errors.Is(err, pgx.ErrNoRows) {
		return true
	}
	return pgconn.SafeToRetry(err)
}

// retry runs a write until it succeeds, fails for good, or maxAttempts is
// used up; it never sleeps past ctx or a Close.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	return s.retryOp(ctx, false, fn)
}

// retryRead is retry for operations that change nothing.
func (s *Store) retryRead(ctx context.Context, fn func() error) error {
	return s.retryOp(ctx, true, fn)
}

func (s *Store) retryOp(ctx context.Context, read bool, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(err, read) || ctx.Err() != nil || s.closed.Load() {
			return err
		}
		d := min(baseBackoff<<(attempt-1), maxBackoff)
		d = d/2 + rand.N(d/2+1) // jitter in [d/2, d]
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

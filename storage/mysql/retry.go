package mysql

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retrying transient lock failures. InnoDB picks a victim when transactions
// deadlock (1213, rolled back whole) and gives up on a lock after
// innodb_lock_wait_timeout (1205); both say nothing about the data, so the
// whole operation is run again, as Infinitic does.
const (
	maxAttempts  = 5
	retryBackoff = 5 * time.Millisecond // doubled per attempt, plus jitter
)

// retry runs op until it succeeds, fails with something other than a lock
// failure, or has run maxAttempts times. op must be safe to repeat: it is
// one transaction or one autocommit statement.
func retry(ctx context.Context, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		d := retryBackoff << (attempt - 1)
		// Jitter keeps the two sides of a deadlock from meeting again.
		d += rand.N(d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	return isServerError(err, erLockDeadlock) || isServerError(err, erLockWaitTimeout)
}

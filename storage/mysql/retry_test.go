package mysql

import (
	"context"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestRetry(t *testing.T) {
	deadlock := &mysql.MySQLError{Number: erLockDeadlock, Message: "Deadlock found"}
	lockWait := &mysql.MySQLError{Number: erLockWaitTimeout, Message: "Lock wait timeout exceeded"}
	dup := &mysql.MySQLError{Number: erDupEntry, Message: "Duplicate entry"}
	tests := []struct {
		name      string
		errs      []error // returned by successive attempts; nil after the list
		wantCalls int
		wantErr   error
	}{
		{"success", nil, 1, nil},
		{"deadlock then success", []error{deadlock, deadlock}, 3, nil},
		{"lock wait then success", []error{lockWait}, 2, nil},
		{"other errors are not retried", []error{dup}, 1, dup},
		{"gives up", []error{deadlock, deadlock, lockWait, deadlock, deadlock, deadlock}, maxAttempts, deadlock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := retry(t.Context(), func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls || !errors.Is(err, tt.wantErr) {
				t.Fatalf("retry: %d calls, err %v; want %d calls, err %v", calls, err, tt.wantCalls, tt.wantErr)
			}
		})
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := retry(ctx, func() error {
		calls++
		cancel()
		return &mysql.MySQLError{Number: erLockDeadlock}
	})
	if calls != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("retry with cancelled ctx: %d calls, %v", calls, err)
	}
}

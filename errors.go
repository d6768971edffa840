package weft

import (
	"errors"
	"fmt"

	"github.com/weftio/weft/core"
)

// Error is the one error type of weft; see core.Error. Match sentinels
// with errors.Is (they match anywhere in the cause chain) and read details
// with errors.As.
type Error = core.Error

// Failure describes a user error behind a task or method failure.
type Failure = core.Failure

// Sentinels.
var (
	ErrTaskFailed        = core.ErrTaskFailed
	ErrTaskTimedOut      = core.ErrTaskTimedOut
	ErrTaskCanceled      = core.ErrTaskCanceled
	ErrTaskUnknown       = core.ErrTaskUnknown
	ErrWorkflowFailed    = core.ErrWorkflowFailed
	ErrWorkflowCanceled  = core.ErrWorkflowCanceled
	ErrWorkflowTimedOut  = core.ErrWorkflowTimedOut
	ErrWorkflowUnknown   = core.ErrWorkflowUnknown
	ErrWorkflowChanged   = core.ErrWorkflowChanged
	ErrExecutorError     = core.ErrExecutorError
	ErrBadInput          = core.ErrBadInput
	ErrNotRegistered     = core.ErrNotRegistered
	ErrExecutionTimedOut = core.ErrExecutionTimedOut
	ErrPayloadTooLarge   = core.ErrPayloadTooLarge
	ErrNoConsumer        = core.ErrNoConsumer
)

// nonRetryable marks a task error that must not be retried.
type nonRetryable struct{ err error }

func (e nonRetryable) Error() string { return e.err.Error() }
func (e nonRetryable) Unwrap() error { return e.err }

// NonRetryable wraps a task error so the executor fails the task at once,
// whatever its retry policy says.
func NonRetryable(err error) error {
	if err == nil {
		return nil
	}
	return nonRetryable{err}
}

func isNonRetryable(err error) bool {
	var n nonRetryable
	return errors.As(err, &n)
}

// errorType names an error's type for failures and retry policies: the
// innermost wrapped error of a NonRetryable, else the error itself.
func errorType(err error) string {
	var n nonRetryable
	if errors.As(err, &n) {
		err = n.err
	}
	return fmt.Sprintf("%T", err)
}

// failureOf describes a user error.
func failureOf(err error) *core.Failure {
	return &core.Failure{Type: errorType(err), Message: err.Error()}
}

package weft

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/weftio/weft/core"
)

// TaskContext is what task code receives: a context.Context that is
// cancelled when the attempt's execution timeout expires, plus the task's
// description.
type TaskContext interface {
	context.Context
	Info() TaskInfo
}

// TaskInfo describes one task attempt.
type TaskInfo struct {
	TaskID      string
	Service     string
	Method      string
	RetrySeq    int
	RetryIndex  int
	Workflow    string
	WorkflowID  string
	MethodRunID string
	Tags        []string
	Meta        map[string]string
	LastFailure *Failure
}

type taskContext struct {
	context.Context
	info TaskInfo
}

func (c taskContext) Info() TaskInfo { return c.info }

// RunsLocally reports whether the task service.method is registered here
// with Local (and not Delegated): the state engine may run it in its
// process (see functions.TaskRunner).
func (r *Registry) RunsLocally(service, method string) bool {
	impl := r.task(service, method)
	return impl != nil && impl.local && !impl.delegated
}

// RunTask executes one attempt of t with the registered implementation and
// returns its outcome and the retry policy that applies. It is the seam
// used by executor runtimes. The error is a *core.Error with
// CodeNotRegistered when no implementation is registered, or the context's
// error when the runtime is shutting down (the attempt must be redelivered).
func (r *Registry) RunTask(ctx context.Context, t *core.ExecuteTask) (core.TaskOutcome, core.RetryPolicy, error) {
	impl := r.task(t.Service, t.Method)
	if impl == nil {
		return core.TaskOutcome{}, core.RetryPolicy{}, &core.Error{Code: core.CodeNotRegistered, Service: t.Service, Method: t.Method, TaskID: t.TaskID,
			Message: "no implementation of this task is registered on this executor"}
	}
	info := TaskInfo{TaskID: t.TaskID, Service: t.Service, Method: t.Method, RetrySeq: t.RetrySeq, RetryIndex: t.RetryIndex,
		Tags: t.Tags, Meta: t.Meta, LastFailure: t.LastFailure}
	if q := t.Requester; q != nil {
		info.Workflow, info.WorkflowID, info.MethodRunID = q.Workflow, q.WorkflowID, q.MethodRunID
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if impl.timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, impl.timeout)
	}
	defer cancel()
	type result struct {
		v   json.RawMessage
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("task panicked: %v\n%s", p, debug.Stack())}
			}
		}()
		v, err := impl.run(taskContext{Context: runCtx, info: info}, t.Input)
		done <- result{v, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-runCtx.Done():
		// Go cannot stop a goroutine: an attempt that ignores its context is
		// abandoned and its late result dropped.
		select {
		case res = <-done:
		case <-time.After(taskGrace):
			if ctx.Err() != nil {
				return core.TaskOutcome{}, impl.retry, fmt.Errorf("task %s interrupted: %w", t.TaskID, ctx.Err())
			}
			res = result{err: &core.Error{Code: core.CodeExecutionTimedOut, Service: t.Service, Method: t.Method, TaskID: t.TaskID,
				Message: fmt.Sprintf("attempt did not finish within %s", impl.timeout)}}
		}
	}
	if res.err == nil {
		return core.TaskOutcome{Value: res.v, Delegated: impl.delegated}, impl.retry, nil
	}
	if ctx.Err() != nil {
		// The runtime is stopping: this attempt did not fail, it was
		// interrupted, and must be delivered again.
		return core.TaskOutcome{}, impl.retry, fmt.Errorf("task %s interrupted: %w", t.TaskID, ctx.Err())
	}
	if runCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		if ce := core.AsError(res.err); ce == nil || ce.Code != core.CodeExecutionTimedOut {
			res.err = &core.Error{Code: core.CodeExecutionTimedOut, Service: t.Service, Method: t.Method, TaskID: t.TaskID,
				Message: fmt.Sprintf("attempt did not finish within %s: %v", impl.timeout, res.err)}
		}
	}
	return core.TaskOutcome{Failure: failureOf(res.err), Retryable: !isNonRetryable(res.err), Cause: core.AsError(res.err).Clone()}, impl.retry, nil
}

// taskGrace is how long a timed-out attempt may take to notice its
// cancelled context before it is abandoned.
const taskGrace = 100 * time.Millisecond

package core

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an Error. Codes travel on the wire, so they never change.
type Code string

// Error codes. The task and workflow codes are the "deferred" errors a
// workflow sees when it awaits something that did not complete.
const (
	CodeTaskFailed        Code = "task_failed"
	CodeTaskTimedOut      Code = "task_timed_out"
	CodeTaskCanceled      Code = "task_canceled"
	CodeTaskUnknown       Code = "task_unknown"
	CodeWorkflowFailed    Code = "workflow_failed"
	CodeWorkflowCanceled  Code = "workflow_canceled"
	CodeWorkflowTimedOut  Code = "workflow_timed_out"
	CodeWorkflowUnknown   Code = "workflow_unknown"
	CodeWorkflowChanged   Code = "workflow_changed"
	CodeExecutorError     Code = "executor_error"
	CodeBadInput          Code = "bad_input"
	CodeNotRegistered     Code = "not_registered"
	CodeExecutionTimedOut Code = "execution_timed_out"
	// CodePayloadTooLarge: a task result, a workflow task's result or a
	// workflow's state is over a message or storage limit. It is
	// permanent: retrying the same work cannot make it fit.
	CodePayloadTooLarge Code = "payload_too_large"
	// CodeNoConsumer: a client awaits an answer that cannot come, because
	// nothing has subscribed to a topic its command went to (no state
	// engine serves the workflow). The command stays on the topic and is
	// handled if a consumer subscribes later.
	CodeNoConsumer Code = "no_consumer"
)

// Error is the one error type of weft. It nests along the call chain (a
// workflow failed because a child failed because a task failed) through
// Cause, survives JSON serialization, and matches sentinels by Code with
// errors.Is anywhere in the chain.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`

	Service     string `json:"service,omitempty"`
	Method      string `json:"method,omitempty"`
	TaskID      string `json:"taskId,omitempty"`
	Workflow    string `json:"workflow,omitempty"`
	WorkflowID  string `json:"workflowId,omitempty"`
	MethodRunID string `json:"methodRunId,omitempty"`

	// Failure is the user error behind a task or method failure, with the
	// chain of earlier attempts.
	Failure *Failure `json:"failure,omitempty"`
	// Cause is the weft error this one was caused by.
	Cause *Error `json:"cause,omitempty"`
}

// Failure describes a user error: its Go type and message, which attempt
// produced it, and the failures of earlier attempts.
type Failure struct {
	Type          string   `json:"type,omitempty"`
	Message       string   `json:"message"`
	RetrySequence int      `json:"retrySequence,omitempty"`
	RetryIndex    int      `json:"retryIndex,omitempty"`
	Previous      *Failure `json:"previous,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	// What the error is about: the task or workflow named, then the ids
	// known, whichever of the names are set (a lookup by id alone must
	// still say which id it was).
	switch {
	case e.Service != "":
		fmt.Fprintf(&b, " %s.%s", e.Service, e.Method)
	case e.Workflow != "":
		fmt.Fprintf(&b, " %s", e.Workflow)
		if e.Method != "" {
			fmt.Fprintf(&b, ".%s", e.Method)
		}
	}
	switch {
	case e.TaskID != "":
		fmt.Fprintf(&b, " (task %s)", e.TaskID)
	case e.WorkflowID != "" && e.MethodRunID != "" && e.MethodRunID != e.WorkflowID:
		fmt.Fprintf(&b, " (workflow %s, method run %s)", e.WorkflowID, e.MethodRunID)
	case e.WorkflowID != "":
		fmt.Fprintf(&b, " (workflow %s)", e.WorkflowID)
	}
	var cause string
	if e.Cause != nil {
		cause = e.Cause.Error()
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
		if cause != "" && strings.Contains(e.Message, cause) {
			cause = ""
		}
	}
	if e.Failure != nil && e.Failure.Message != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Failure.Message)
		if cause != "" && strings.Contains(e.Failure.Message, cause) {
			cause = "" // the user's error already wraps it
		}
	}
	if cause != "" {
		b.WriteString(": ")
		b.WriteString(cause)
	}
	return b.String()
}

// Is matches a sentinel (an *Error with only a Code) by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Cause == nil
}

// Unwrap exposes the cause so errors.Is and errors.As walk the chain.
func (e *Error) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return e.Cause
}

// Sentinels for errors.Is.
var (
	ErrTaskFailed        = &Error{Code: CodeTaskFailed}
	ErrTaskTimedOut      = &Error{Code: CodeTaskTimedOut}
	ErrTaskCanceled      = &Error{Code: CodeTaskCanceled}
	ErrTaskUnknown       = &Error{Code: CodeTaskUnknown}
	ErrWorkflowFailed    = &Error{Code: CodeWorkflowFailed}
	ErrWorkflowCanceled  = &Error{Code: CodeWorkflowCanceled}
	ErrWorkflowTimedOut  = &Error{Code: CodeWorkflowTimedOut}
	ErrWorkflowUnknown   = &Error{Code: CodeWorkflowUnknown}
	ErrWorkflowChanged   = &Error{Code: CodeWorkflowChanged}
	ErrExecutorError     = &Error{Code: CodeExecutorError}
	ErrBadInput          = &Error{Code: CodeBadInput}
	ErrNotRegistered     = &Error{Code: CodeNotRegistered}
	ErrExecutionTimedOut = &Error{Code: CodeExecutionTimedOut}
	ErrPayloadTooLarge   = &Error{Code: CodePayloadTooLarge}
	ErrNoConsumer        = &Error{Code: CodeNoConsumer}
)

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Clone returns a deep copy of e (nil-safe).
func (e *Error) Clone() *Error {
	if e == nil {
		return nil
	}
	c := *e
	c.Failure = e.Failure.Clone()
	c.Cause = e.Cause.Clone()
	return &c
}

// Clone returns a deep copy of f (nil-safe).
func (f *Failure) Clone() *Failure {
	if f == nil {
		return nil
	}
	c := *f
	c.Previous = f.Previous.Clone()
	return &c
}

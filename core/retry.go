package core

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// RetryPolicy is exponential backoff with jitter:
//
//	delay = min(Maximum, Minimum × Coefficient^retryIndex) × (1 + RandomFactor × (2·r − 1))
//
// for r drawn uniformly in [0, 1). Retries stop once retryIndex reaches
// MaxRetries or the error's type is in NonRetryable. The zero policy never
// retries, which is the default for tasks and workflow tasks.
type RetryPolicy struct {
	Minimum      time.Duration `json:"minimum"`
	Maximum      time.Duration `json:"maximum"`
	Coefficient  float64       `json:"coefficient"`
	RandomFactor float64       `json:"randomFactor"`
	MaxRetries   int           `json:"maxRetries"`
	// NonRetryable lists error type names (as Failure.Type) never retried.
	NonRetryable []string `json:"nonRetryable,omitempty"`
}

// DefaultRetryPolicy returns the documented defaults: 1 s, ×2, ±50 %,
// capped at 1000 s, 11 retries.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Minimum: time.Second, Maximum: 1000 * time.Second, Coefficient: 2, RandomFactor: 0.5, MaxRetries: 11}
}

// maxDelay bounds any retry delay (about 292 years, the Duration range).
const maxDelay = float64(math.MaxInt64 - 1<<10)

// Validate reports the first invalid field.
func (p RetryPolicy) Validate() error {
	switch {
	case math.IsNaN(p.Coefficient) || math.IsInf(p.Coefficient, 0):
		return fmt.Errorf("retry policy: Coefficient %g is not a finite number", p.Coefficient)
	case math.IsNaN(p.RandomFactor) || math.IsInf(p.RandomFactor, 0):
		return fmt.Errorf("retry policy: RandomFactor %g is not a finite number", p.RandomFactor)
	case p.MaxRetries < 0:
		return fmt.Errorf("retry policy: MaxRetries %d is negative", p.MaxRetries)
	case p.MaxRetries == 0:
		return nil
	case p.Minimum <= 0:
		return fmt.Errorf("retry policy: Minimum %s must be positive", p.Minimum)
	case p.Maximum < p.Minimum:
		return fmt.Errorf("retry policy: Maximum %s is below Minimum %s", p.Maximum, p.Minimum)
	case p.Coefficient < 1:
		return fmt.Errorf("retry policy: Coefficient %g must be at least 1", p.Coefficient)
	case p.RandomFactor < 0 || p.RandomFactor >= 1:
		return fmt.Errorf("retry policy: RandomFactor %g must be in [0, 1)", p.RandomFactor)
	}
	return nil
}

// Delay returns the wait before retry number retryIndex+1, and false when
// the task must not be retried. r is a uniform random number in [0, 1).
func (p RetryPolicy) Delay(retryIndex int, errType string, r float64) (time.Duration, bool) {
	if retryIndex >= p.MaxRetries || slices.Contains(p.NonRetryable, errType) {
		return 0, false
	}
	base := math.Min(float64(p.Maximum), float64(p.Minimum)*math.Pow(p.Coefficient, float64(retryIndex)))
	d := base * (1 + p.RandomFactor*(2*r-1))
	// Clamp before converting: a float beyond the Duration range (or NaN)
	// would wrap to a negative delay and retry at once.
	if math.IsNaN(d) || d < 0 {
		d = 0
	}
	if d >= maxDelay {
		return time.Duration(maxDelay), true
	}
	return time.Duration(d), true
}

// TaskOutcome is what one task attempt produced, as seen by the executor.
type TaskOutcome struct {
	Value json.RawMessage
	// Failure is set when the attempt failed; Retryable false forbids a
	// retry whatever the policy says (e.g. bad input, permanent errors).
	Failure   *Failure
	Retryable bool
	// Cause is the weft error behind the failure, if any (e.g. not
	// registered, bad input, execution timed out).
	Cause *Error
	// Delegated: the attempt handed the work to an outside system, which
	// completes the task later (Value is ignored).
	Delegated bool
}

// DecideTask turns a task attempt's outcome into the messages to send: the
// result to the requesting workflow, or a delayed retry on the retry topic.
// now is the wall clock, r a uniform random number in [0, 1).
func DecideTask(t *ExecuteTask, o TaskOutcome, p RetryPolicy, now time.Time, r float64) []Out {
	req := t.Requester
	reply := func(res *CommandResult) []Out {
		if !req.IsWorkflow() {
			return nil
		}
		res.Workflow, res.WorkflowID, res.MethodRunID, res.CommandID, res.RetrySeq = req.Workflow, req.WorkflowID, req.MethodRunID, t.TaskID, t.RetrySeq
		return []Out{{Topic: Topic(PrefixWorkflowEngine, req.Workflow), Key: req.WorkflowID, Subject: req.WorkflowID, Msg: res}}
	}
	if o.Failure == nil && o.Delegated {
		return []Out{TaskTagOut(&SetDelegatedTask{TaskID: t.TaskID, Service: t.Service, Method: t.Method, RetrySeq: t.RetrySeq, Requester: req,
			Tags: t.Tags})}
	}
	if o.Failure == nil {
		return append(reply(&CommandResult{Kind: TaskCompleted, Value: o.Value}), TaskTagOuts(t.Service, t.TaskID, t.Tags, false)...)
	}
	fc := *o.Failure // the caller's outcome stays as it was
	f := &fc
	f.RetrySequence, f.RetryIndex, f.Previous = t.RetrySeq, t.RetryIndex, t.LastFailure
	if o.Retryable {
		if d, ok := p.Delay(t.RetryIndex, f.Type, r); ok {
			next := *t
			next.RetryIndex++
			next.LastFailure = f
			return []Out{{Topic: Topic(PrefixTaskRetry, t.Service), Subject: t.TaskID, DeliverAt: now.Add(d), Msg: &next}}
		}
	}
	return reply(&CommandResult{Kind: TaskFailed, Error: &Error{
		Code: CodeTaskFailed, Service: t.Service, Method: t.Method, TaskID: t.TaskID, Message: f.Message, Failure: f, Cause: o.Cause,
	}})
}

package functions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/weftio/weft/core"
)

// TaskRunner runs tasks in the state engine's process (see
// StateEngineConfig.LocalTasks). A *weft.Registry is one.
type TaskRunner interface {
	// RunsLocally reports whether the task may run in the state engine's
	// process: registered here, and marked for it (never a delegated one).
	RunsLocally(service, method string) bool
	// RunTask runs one attempt of t (see weft.Registry.RunTask).
	RunTask(ctx context.Context, t *core.ExecuteTask) (core.TaskOutcome, core.RetryPolicy, error)
}

// MaxLocalTaskRuns bounds the tasks run in the state engine's process for
// one input, and LocalTaskBudget the time they may take: past either, the
// tasks go through the broker, and the state is written (a crash before
// the write runs them again, as with any unrecorded attempt).
const (
	MaxLocalTaskRuns = 100
	LocalTaskBudget  = time.Second
)

// errTooLargeHere: an output of a task run here does not fit in a message.
var errTooLargeHere = errors.New("an output of the task does not fit in a message")

// localTasks is what one input may still run here.
type localTasks struct {
	budget int
	until  time.Time
}

// runsTaskHere reports whether output o, which carries task t, runs in
// this process now: a dispatch due now to the task's executor topic,
// requested by the instance of state s, of a task the runner takes, within
// the input's budget.
func (e *StateEngine) runsTaskHere(o core.Out, t *core.ExecuteTask, s *core.WorkflowState, tasks *localTasks) bool {
	if e.cfg.LocalTasks == nil || tasks.budget <= 0 || !o.DeliverAt.IsZero() || o.Topic != core.Topic(core.PrefixTaskExecutor, t.Service) ||
		t.Requester == nil || s == nil || t.Requester.WorkflowID != s.WorkflowID || !e.cfg.LocalTasks.RunsLocally(t.Service, t.Method) {
		return false
	}
	if !e.cfg.Clock().Before(tasks.until) {
		return false
	}
	tasks.budget--
	return true
}

// runTask runs one attempt of task t, dispatched by the instance of state
// s, and decides its outcome as the executor does: the result for the
// instance, to be applied here (nil when the outcome sends none yet, e.g.
// a retry), and the envelopes of the rest (a retry, tag updates, events).
// Their ids derive from the task and its retry sequence and index, so a
// handling that runs it again yields the same ids.
func (e *StateEngine) runTask(ctx context.Context, t *core.ExecuteTask, s *core.WorkflowState) (*core.Input, []core.Envelope, error) {
	started := e.cfg.Clock()
	outcome, policy, err := e.cfg.LocalTasks.RunTask(ctx, t)
	if err != nil {
		return nil, nil, Unavailable(fmt.Errorf("task %s in the state engine's process: %w", t.TaskID, err)) // interrupted: handle the input again
	}
	finished := e.cfg.Clock()
	id := core.DeriveID(finished, t.TaskID, "local-attempt", fmt.Sprint(t.RetrySeq), fmt.Sprint(t.RetryIndex))
	outs := core.DecideTask(t, outcome, policy, finished, rand.Float64())
	var result *core.Input
	var envs []core.Envelope
	engineTopic := core.Topic(core.PrefixWorkflowEngine, s.WorkflowName)
	for _, o := range outs {
		env, err := core.BuildEnvelope(o, id, finished, e.cfg.Source, finished)
		if err != nil {
			return nil, nil, Permanent("output does not encode", err)
		}
		if _, fits := core.EnvelopeFits(env, e.cfg.MaxMessageSize); !fits {
			// The executor fails such an attempt through the retry policy
			// (payload too large): it is sent to one, to run again there.
			return nil, nil, errTooLargeHere
		}
		if r, ok := o.Msg.(*core.CommandResult); ok && result == nil && o.Topic == engineTopic && o.Key == s.WorkflowID && o.DeliverAt.IsZero() {
			result = &core.Input{ID: id, Instant: finished, Msg: r}
			continue
		}
		envs = append(envs, env)
	}
	if e.cfg.Events {
		for _, o := range append([]core.Out{core.EventOut(core.TaskEvent(core.EventTaskStarted, t))}, core.TaskOutcomeEvents(t, outs)...) {
			at := finished
			if ev, ok := o.Msg.(*core.Event); ok && ev.Kind == core.EventTaskStarted {
				at = started
			}
			env, err := core.BuildEnvelope(o, id, at, e.cfg.Source, at)
			if err != nil {
				return nil, nil, Permanent("event does not encode", err)
			}
			envs = append(envs, env)
		}
	}
	return result, envs, nil
}

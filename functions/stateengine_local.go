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

// runLocal turns a transition's outputs into envelopes, running in this
// process every workflow task whose code it has (at most MaxLocalTasks per
// input; beyond, they go through the broker). Each local result is applied
// with an id and instant derived from its task, so handling the same input
// again yields the same envelopes. A workflow task whose history does not
// fit in a message, or whose result does not, fails its method instead;
// with shrink set (the state was too large to store), every one does.
// local reports whether results were applied in this process.
func (e *StateEngine) runLocal(ctx context.Context, tr *core.Transition, in core.Input, now time.Time, shrink *core.Error) (envs []core.Envelope, local bool, err error) {
	// Each batch is the outputs of one applied input, whose envelopes
	// take their ids from it.
	type batch struct {
		outs []core.Out
		from core.Input
	}
	queue := []batch{{tr.Outputs, in}}
	ran, tasks := 0, localTasks{budget: MaxLocalTaskRuns, until: e.cfg.Clock().Add(LocalTaskBudget)}
	apply := func(from core.Input, what string) error {
		step, err := core.ApplyWith(tr.State, from, now, e.opts)
		if err != nil {
			return fmt.Errorf("apply in-process %s: %w", what, err)
		}
		local = true
		tr.Changed = tr.Changed || step.Changed
		tr.Pages = append(tr.Pages, step.Pages...)
		tr.DroppedPages = append(tr.DroppedPages, step.DroppedPages...)
		queue = append(queue, batch{step.Outputs, from})
		return nil
	}
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		pending, from := e.refuseUnserved(b.outs, now), b.from
		var task *core.ExecuteWorkflowTask
		var res core.Message
		var results []core.Input
		for _, o := range pending {
			t, isTask := o.Msg.(*core.ExecuteWorkflowTask)
			if isTask && task == nil && ran < MaxLocalTasks && e.isLocal(t) {
				task = t
				continue
			}
			if et, ok := o.Msg.(*core.ExecuteTask); ok && e.runsTaskHere(o, et, tr.State, &tasks) {
				result, taskEnvs, err := e.runTask(ctx, et, tr.State)
				switch {
				case err == nil:
					envs = append(envs, taskEnvs...)
					if result != nil {
						results = append(results, *result)
					}
					continue
				case !errors.Is(err, errTooLargeHere):
					return nil, false, err
				}
				// Sent to an executor, below.
			}
			if isTask && !e.cfg.HistoryByReference {
				// Sent, the task carries the whole history, pages included.
				if t, err = e.history.expand(ctx, t, tr.Pages); err != nil {
					return nil, false, err
				}
				o.Msg = t
			}
			if _, isEvent := o.Msg.(*core.Event); isEvent && !e.cfg.Events {
				continue
			}
			env, err := core.BuildEnvelope(o, from.ID, from.Instant, e.cfg.Source, now)
			if err != nil {
				return nil, false, Permanent("output does not encode", err)
			}
			if size, fits := core.EnvelopeFits(env, e.cfg.MaxMessageSize); !fits {
				if !isTask || task != nil {
					return nil, false, Permanent(fmt.Sprintf("output %s to %s is %d bytes, over the %d-byte message limit", env.Type, env.Topic, size, e.cfg.MaxMessageSize), nil)
				}
				// The history the task would carry is too long for a message.
				task, res = t, core.FailedTask(t, t.CodeVersion, core.TooLarge("the workflow task's history", size, e.cfg.MaxMessageSize))
				continue
			}
			envs = append(envs, env)
		}
		if task != nil {
			if res == nil {
				ran++
				res, err = e.cfg.Local.RunWorkflowTask(task, func() (*core.ExecuteWorkflowTask, error) { return e.history.expand(ctx, task, tr.Pages) })
				if err != nil && res == nil {
					return nil, false, err // its history could not be read
				}
				res = core.FitResult(task, res, e.cfg.MaxMessageSize)
				if shrink != nil {
					if r, ok := core.Oversized(res, shrink); ok {
						res = r
					}
				}
			}
			if err := apply(core.ResultInput(task, res), "workflow task "+task.TaskID); err != nil {
				return nil, false, err
			}
		}
		for _, r := range results {
			if err := apply(r, "task result"); err != nil {
				return nil, false, err
			}
		}
	}
	return envs, local, nil
}

func (e *StateEngine) isLocal(t *core.ExecuteWorkflowTask) bool {
	return e.cfg.Local != nil && e.cfg.Local.HasWorkflowCode(t)
}

package functions

// What the state engine does with messages it has nothing to act on, and
// with tasks nothing would execute.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/weftio/weft/core"
)

// Drops counts the messages that had nothing to act on: for an instance
// that does not exist (results among them are dead-lettered) and for one
// that has ended.
type Drops struct {
	NoInstance, Ended int64
}

// Drops reports how many messages had nothing to act on since the engine
// started.
func (e *StateEngine) Drops() Drops {
	return Drops{NoInstance: e.drops[core.DroppedNoInstance].Load(), Ended: e.drops[core.DroppedEnded].Load()}
}

// dropped counts and logs a message that had nothing to act on. A result
// for an instance that does not exist is an error somewhere (an instance
// deleted under its running tasks, a result sent to the wrong id, or one
// so late that the instance's retention is over): it is dead-lettered with
// the reason, so it can be seen and, if need be, replayed. Anything else is
// logged: a signal or a command for an instance that is not there, or a
// late result for one that has ended (a task that succeeded after its
// caller's timeout, say), is what such systems expect to happen.
func (e *StateEngine) dropped(id string, in core.Input, d core.Drop) error {
	e.drops[d].Add(1)
	workflow, _, _ := core.EngineTarget(in.Msg)
	if r, ok := in.Msg.(*core.CommandResult); ok && d == core.DroppedNoInstance {
		return Permanent(fmt.Sprintf("%s %s (%s of command %s) for instance %s of workflow %s: %s",
			in.Msg.MessageType(), in.ID, r.Kind, r.CommandID, id, workflow, d), nil)
	}
	level := slog.LevelInfo
	if d == core.DroppedEnded {
		level = slog.LevelDebug
	}
	e.cfg.Logger.Log(context.Background(), level, "message dropped: nothing to act on",
		"type", in.Msg.MessageType(), "id", in.ID, "workflow", workflow, "workflowId", id, "reason", d.String())
	return nil
}

// refuseUnserved replaces each task of outs whose service no executor
// serves (see StateEngineConfig.Serves) by the failure an executor would
// answer for a method it does not know.
func (e *StateEngine) refuseUnserved(outs []core.Out, now time.Time) []core.Out {
	if e.cfg.Serves == nil {
		return outs
	}
	var kept []core.Out
	for i, o := range outs {
		t, ok := o.Msg.(*core.ExecuteTask)
		if !ok || e.cfg.Serves(t.Service) {
			if kept != nil {
				kept = append(kept, o)
			}
			continue
		}
		if kept == nil {
			kept = append(make([]core.Out, 0, len(outs)), outs[:i]...)
		}
		ce := &core.Error{Code: core.CodeNotRegistered, Service: t.Service, Method: t.Method, TaskID: t.TaskID,
			Message: fmt.Sprintf("no executor serves service %s here", t.Service)}
		var wf, id string
		if t.Requester != nil {
			wf, id = t.Requester.Workflow, t.Requester.WorkflowID
		}
		e.cfg.Logger.Warn("task failed: no executor serves its service", "service", t.Service, "method", t.Method, "task", t.TaskID,
			"workflow", wf, "id", id)
		kept = append(kept, core.DecideTask(t, core.TaskOutcome{Failure: &core.Failure{Type: string(ce.Code), Message: ce.Error()}, Cause: ce},
			core.RetryPolicy{}, now, 0)...)
	}
	if kept == nil {
		return outs
	}
	return kept
}

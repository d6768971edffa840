package core

import (
	"math"
	"time"
)

// Cancel reasons.
const (
	ReasonCanceledByClient = "canceled by client"
	ReasonCanceledByParent = "canceled by parent"
)

func (e *engine) cancel(m *CancelWorkflow) {
	s := e.s
	if m.MethodRunID != "" && m.MethodRunID != s.WorkflowID {
		if run := s.Method(m.MethodRunID); run != nil {
			e.cancelMethod(run, m.Reason)
			s.Methods = deleteRun(s.Methods, run)
		}
		if len(s.Methods) == 0 {
			e.endInstance(StateCanceled)
		}
		return
	}
	for _, run := range s.Methods {
		e.cancelMethod(run, m.Reason)
	}
	s.Methods = nil
	e.endInstance(StateCanceled)
}

func deleteRun(runs []*MethodRun, run *MethodRun) []*MethodRun {
	for i, r := range runs {
		if r == run {
			return append(runs[:i], runs[i+1:]...)
		}
	}
	return runs
}

// cancelMethod cancels the children a method run started (not its tasks:
// running tasks are never interrupted) and tells its waiters.
func (e *engine) cancelMethod(run *MethodRun, reason string) {
	s := e.s
	for _, c := range run.Commands {
		if c.Latest().State.Terminal() {
			continue
		}
		switch c.Kind {
		case KindChild:
			e.emit(Out{Topic: Topic(PrefixWorkflowCmd, c.Workflow), Key: c.ID, Subject: c.ID,
				Msg: &CancelWorkflow{WorkflowID: c.ID, Workflow: c.Workflow, Reason: ReasonCanceledByParent}})
		case KindMethod:
			if e.isSelf(c) {
				continue // the sibling is cancelled with this instance or stays
			}
			e.emit(Out{Topic: Topic(PrefixWorkflowCmd, c.Workflow), Key: c.TargetID, Subject: c.TargetID,
				Msg: &CancelWorkflow{WorkflowID: c.TargetID, Workflow: c.Workflow, MethodRunID: c.ID, Reason: ReasonCanceledByParent}})
		}
	}
	err := &Error{Code: CodeWorkflowCanceled, Workflow: s.WorkflowName, Method: run.Name, WorkflowID: s.WorkflowID, MethodRunID: run.ID, Message: reason}
	if !run.Returned {
		e.reply(run, MethodCanceled, nil, err)
		e.addEnded(MethodResult{MethodRunID: run.ID, Name: run.Name, State: StateCanceled, Error: err})
	} else {
		e.addEnded(MethodResult{MethodRunID: run.ID, Name: run.Name, State: StateCompleted, Value: run.Value})
	}
	if s.Running != nil && s.Running.MethodRunID == run.ID {
		s.Running = nil
	}
	e.closeChannels(run.ID)
}

// retryWorkflowTask re-runs the workflow task in flight, or the last one of
// the first failed method, with the same trigger instant so the commands it
// creates keep their ids. The new task id makes a late result of the old
// one stale.
func (e *engine) retryWorkflowTask() {
	s := e.s
	if s == nil || s.Result != nil {
		return
	}
	if s.Running != nil {
		run := s.Method(s.Running.MethodRunID)
		trigger := s.Running.Trigger
		s.Running = nil
		if run != nil {
			e.dispatchWorkflowTask(run, trigger)
		}
		return
	}
	for _, run := range s.Methods {
		if run.Failure != nil {
			trigger := run.LastTrigger
			if trigger.IsZero() {
				trigger = e.in.Instant
			}
			run.Failure = nil
			e.dispatchWorkflowTask(run, trigger)
			return
		}
	}
}

// retryTasks re-dispatches matching failed or timed-out tasks with a new
// retry sequence; their commands become ongoing again, so a failed step
// resumes once they complete. A task with a caller-side timeout gets a
// fresh one from the retry's instant; the timeout of an earlier sequence
// is stale when it comes (see commandResult).
func (e *engine) retryTasks(m *RetryTasks, instant time.Time) {
	s := e.s
	if s == nil || s.Result != nil {
		return
	}
	for _, run := range s.Methods {
		for _, c := range run.Commands {
			if c.Kind != KindTask || (m.TaskID != "" && c.ID != m.TaskID) || (m.Service != "" && c.Service != m.Service) {
				continue
			}
			st := c.Latest().State
			if m.State != "" && st != m.State {
				continue
			}
			if st != StateFailed && st != StateTimedOut {
				continue
			}
			c.RetrySeq++
			c.Statuses = append(c.Statuses, Status{State: StateOngoing, Index: e.next()})
			e.touch(c)
			et := e.executeTask(run, c)
			e.emit(et)
			if t, ok := et.Msg.(*ExecuteTask); ok {
				e.emit(EventOut(TaskEvent(EventTaskDispatched, t)))
			}
			if c.Timeout > 0 {
				e.emit(e.timeoutOut(run, c, TaskTimedOut, instant.Add(c.Timeout)))
			}
		}
		e.rearmStep(run)
	}
}

// rearmStep makes a method's currently failed step wait again when a retry
// put the command it failed on back to ongoing: the next result, success or
// a new failure, ends the step again and resumes (or re-fails) the method.
// Only then is the method no longer failed; a failure with another cause
// stays for RetryWorkflowTask.
func (e *engine) rearmStep(run *MethodRun) {
	st := run.Current
	if st == nil || st.Outcome == nil || (st.Outcome.State != StateCurrentlyFailed && st.Outcome.State != StateCurrentlyTimedOut) {
		return
	}
	if !st.Node.Eval(run.lookup(e.s), math.MaxInt64).Waiting() {
		return
	}
	st.Outcome, st.IndexAtEnd, st.PropsAtEnd, st.ResumedAt = nil, 0, "", time.Time{}
	run.Failure = nil
}

func (e *engine) executeTask(run *MethodRun, c *Command) Out {
	s := e.s
	return Out{Topic: Topic(PrefixTaskExecutor, c.Service), Subject: c.ID, Msg: &ExecuteTask{
		TaskID: c.ID, Service: c.Service, Method: c.Method, Input: c.Input, RetrySeq: c.RetrySeq,
		Requester: &Requester{Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, MethodRunID: run.ID},
		Tags:      c.Tags, Meta: c.Meta,
	}}
}

// completeTimers completes the ongoing timers of one or every method run
// as of instant, the command's.
func (e *engine) completeTimers(m *CompleteTimers, instant time.Time) {
	var msgs []Message
	for _, run := range e.s.Methods {
		if m.MethodRunID != "" && run.ID != m.MethodRunID {
			continue
		}
		for _, c := range run.Commands {
			if c.Kind == KindTimer && c.Latest().State == StateOngoing {
				msgs = append(msgs, &CommandResult{Kind: TimerCompleted, Workflow: e.s.WorkflowName, WorkflowID: e.s.WorkflowID,
					MethodRunID: run.ID, CommandID: c.ID, Value: timeValue(instant)})
			}
		}
	}
	e.bufferFront(msgs...)
}

func timeValue(t time.Time) []byte {
	b, _ := t.UTC().MarshalJSON()
	return b
}

package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// workflowTaskCompleted records a workflow task's result, then carries out
// the new commands: the state learns of every command before any of its
// results can arrive.
func (e *engine) workflowTaskCompleted(m *WorkflowTaskCompleted) error {
	s := e.s
	if s == nil || s.Running == nil || s.Running.ID != m.TaskID {
		return nil // stale: superseded by a retry, or a duplicate
	}
	if err := validateTaskResult(m); err != nil {
		return err
	}
	run := s.Method(s.Running.MethodRunID)
	trigger := s.Running.Trigger
	index := s.Running.Index
	s.Running = nil
	if run == nil {
		return nil
	}
	if !s.Pinned {
		s.Version, s.Pinned = m.CodeVersion, true
	}
	run.LastTrigger, run.LastTaskID = trigger, m.TaskID
	run.Failure = nil
	// The task ran through a currently failed step without failing: the
	// workflow caught the error, which makes the failure final.
	if st := run.Current; st != nil && st.Outcome != nil {
		switch st.Outcome.State {
		case StateCurrentlyFailed:
			st.Outcome.State = StateFailed
		case StateCurrentlyTimedOut:
			st.Outcome.State = StateTimedOut
		}
		if !st.Outcome.Waiting() {
			run.Steps = append(run.Steps, st)
			run.Current = nil
		}
	}
	if m.Props != nil {
		h := propsHash(m.Props)
		if s.PropValues == nil {
			s.PropValues = map[string]json.RawMessage{}
		}
		s.PropValues[h] = m.Props
		s.Props = h
	}
	for _, c := range m.StepCommands {
		if run.Command(c.ID) == nil && c.Latest().State.Terminal() {
			// Back from its history page: the new step waits for it.
			cc := *c
			cc.Statuses = slices.Clone(c.Statuses)
			run.Commands = append(run.Commands, &cc)
		}
	}
	var self []Message
	for _, c := range m.Commands {
		run.Commands = append(run.Commands, c)
		if msg := e.carryOut(run, c, trigger, index); msg != nil {
			self = append(self, msg)
		}
	}
	if m.Step != nil {
		m.Step.IndexAtStart = index
		run.Current = m.Step
	}
	if m.Returned && !run.Returned {
		run.Returned, run.Value = true, m.Value
		e.reply(run, MethodCompleted, m.Value, nil)
	}
	e.bufferFront(self...)
	return nil
}

// validateTaskResult rejects a workflow-task result that cannot have come
// from an executor, before any of it is applied.
func validateTaskResult(m *WorkflowTaskCompleted) error {
	for i, c := range m.StepCommands {
		if c == nil || c.ID == "" {
			return &DecodeError{Reason: fmt.Sprintf("WorkflowTaskCompleted %s: step command %d is null or has no id", m.TaskID, i)}
		}
	}
	for i, c := range m.Commands {
		switch {
		case c == nil:
			return &DecodeError{Reason: fmt.Sprintf("WorkflowTaskCompleted %s: command %d is null", m.TaskID, i)}
		case c.ID == "":
			return &DecodeError{Reason: fmt.Sprintf("WorkflowTaskCompleted %s: command %d has no id", m.TaskID, i)}
		}
		switch c.Kind {
		case KindTask, KindChild, KindMethod, KindTimer, KindReceive, KindSend, KindInline, KindByTag:
		default:
			return &DecodeError{Reason: fmt.Sprintf("WorkflowTaskCompleted %s: command %s has unknown kind %q", m.TaskID, c.ID, c.Kind)}
		}
	}
	if m.Step != nil && m.Step.Node.Op == "" {
		return &DecodeError{Reason: fmt.Sprintf("WorkflowTaskCompleted %s: step without a node", m.TaskID)}
	}
	return nil
}

func propsHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// carryOut sends what a new command asks for. A method or signal aimed at
// this very instance is returned instead, to go through the buffer.
func (e *engine) carryOut(run *MethodRun, c *Command, trigger time.Time, index int64) Message {
	s := e.s
	me := &Requester{Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, MethodRunID: run.ID}
	delay := func(kind ResultKind, at time.Time) { e.emit(e.timeoutOut(run, c, kind, at)) }
	switch c.Kind {
	case KindTask:
		for _, o := range TaskTagOuts(c.Service, c.ID, c.Tags, true) {
			e.emit(o)
		}
		et := e.executeTask(run, c)
		e.emit(et)
		if t, ok := et.Msg.(*ExecuteTask); ok {
			e.emit(EventOut(TaskEvent(EventTaskDispatched, t)))
		}
		if c.Timeout > 0 {
			delay(TaskTimedOut, trigger.Add(c.Timeout))
		}
	case KindChild:
		outs, err := DispatchOuts(&DispatchWorkflow{
			WorkflowID: c.ID, Workflow: c.Workflow, Method: c.Method, Input: c.Input, Tags: c.Tags, Meta: c.Meta, Requester: me})
		if err != nil {
			// Checked when the command was recorded; never reached.
			outs = []Out{{Topic: Topic(PrefixWorkflowCmd, c.Workflow), Key: c.ID, Subject: c.ID, Msg: &DispatchWorkflow{
				WorkflowID: c.ID, Workflow: c.Workflow, Method: c.Method, Input: c.Input, Meta: c.Meta, Requester: me}}}
		}
		for _, o := range outs {
			e.emit(o)
		}
		if c.Timeout > 0 {
			delay(ChildTimedOut, trigger.Add(c.Timeout))
		}
	case KindMethod:
		msg := &DispatchMethod{WorkflowID: c.TargetID, Workflow: c.Workflow, MethodRunID: c.ID, Method: c.Method, Input: c.Input, Requester: me}
		if c.Timeout > 0 {
			delay(ChildTimedOut, trigger.Add(c.Timeout))
		}
		if e.isSelf(c) {
			return msg
		}
		e.emit(Out{Topic: Topic(PrefixWorkflowCmd, c.Workflow), Key: c.TargetID, Subject: c.TargetID, Msg: msg})
	case KindTimer:
		at := c.Until
		if at.IsZero() {
			at = trigger.Add(c.Duration)
		}
		delay(TimerCompleted, at)
		e.event(EventTimerDispatched, func(ev *Event) { ev.MethodRunID, ev.CommandID, ev.RetryAt = run.ID, c.ID, at })
	case KindSend:
		msg := &SendSignal{WorkflowID: c.TargetID, Workflow: c.Workflow, Channel: c.Channel, SignalID: c.ID, SignalType: c.SignalType, Data: c.Input}
		e.event(EventSignalDispatched, func(ev *Event) {
			ev.MethodRunID, ev.Channel, ev.SignalID, ev.Value = run.ID, c.Channel, c.ID, c.Input
			ev.Requester = &Requester{Workflow: c.Workflow, WorkflowID: c.TargetID}
		})
		if e.isSelf(c) {
			return msg
		}
		e.emit(Out{Topic: Topic(PrefixWorkflowCmd, c.Workflow), Key: c.TargetID, Subject: c.TargetID, Msg: msg})
	case KindByTag:
		if o, ok := e.byTag(c); ok {
			e.emit(o)
		}
	case KindReceive:
		limit := c.Limit
		if limit == 0 {
			limit = 1
		}
		s.Channels = append(s.Channels, &Channel{Name: c.Channel, Type: c.SignalType, Filter: c.Filter,
			MethodRunID: run.ID, CommandID: c.ID, Limit: max(limit, 0), Count: 0})
	}
	return nil
}

// timeoutOut is the delayed result a command gets at instant at: its
// caller-side timeout, or a timer's completion. A task's timeout names the
// retry sequence it bounds.
func (e *engine) timeoutOut(run *MethodRun, c *Command, kind ResultKind, at time.Time) Out {
	s := e.s
	return Out{Topic: Topic(PrefixWorkflowDelay, s.WorkflowName), Key: s.WorkflowID, Subject: s.WorkflowID, DeliverAt: at,
		Msg: &CommandResult{Kind: kind, Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, MethodRunID: run.ID, CommandID: c.ID, RetrySeq: c.RetrySeq}}
}

// isSelf reports whether a method or signal command aims at this very
// instance: its id and its workflow. The same id under another workflow
// name goes out, to be answered as an instance that does not exist.
func (e *engine) isSelf(c *Command) bool {
	return c.TargetID == e.s.WorkflowID && c.Workflow == e.s.WorkflowName
}

// workflowTaskFailed records that a method run failed. The run and its
// state stay, so RetryTasks or RetryWorkflowTask can resume it; its waiters
// are told now.
func (e *engine) workflowTaskFailed(m *WorkflowTaskFailed) {
	s := e.s
	if s == nil || s.Running == nil || s.Running.ID != m.TaskID {
		return
	}
	run := s.Method(s.Running.MethodRunID)
	trigger := s.Running.Trigger
	s.Running = nil
	if run == nil {
		return
	}
	if !s.Pinned && m.CodeVersion > 0 {
		s.Version, s.Pinned = m.CodeVersion, true
	}
	run.LastTrigger = trigger
	err := m.Error
	if err == nil {
		err = &Error{Code: CodeWorkflowFailed, Message: "workflow task failed without an error"}
	}
	if err.Workflow == "" {
		err.Workflow, err.WorkflowID, err.Method, err.MethodRunID = s.WorkflowName, s.WorkflowID, run.Name, run.ID
	}
	run.Failure = err
	e.reply(run, MethodFailed, nil, err)
}

// byTag turns a by-tag command into the message for the tag engine: the
// per-instance command gets ids derived from the command's (a signal id,
// method run ids), and the sender is skipped for a cancel or a signal to
// its own tag.
func (e *engine) byTag(c *Command) (Out, bool) {
	cmd, err := decodePayload(c.Method, c.ID, c.Input)
	if err != nil {
		return Out{}, false // checked by the SDK when recorded
	}
	skip := ""
	switch m := cmd.(type) {
	case *SendSignal:
		m.SignalID = c.ID
		skip = e.s.WorkflowID
	case *CancelWorkflow:
		skip = e.s.WorkflowID
	case *DispatchMethod:
		m.MethodRunID = c.ID
	}
	if c.Workflow != e.s.WorkflowName {
		skip = ""
	}
	m, err := NewWorkflowByTag(c.Workflow, c.Tag, cmd, skip)
	if err != nil {
		return Out{}, false
	}
	return TagOut(m), true
}

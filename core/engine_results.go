package core

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// commandResult records what happened to a command. Results for unknown or
// already terminal commands, and task results of an older retry sequence,
// are duplicates or stale and change nothing.
func (e *engine) commandResult(m *CommandResult, instant time.Time) {
	run := e.s.Method(m.MethodRunID)
	var c *Command
	if run != nil {
		c = run.Command(m.CommandID)
	}
	if c == nil {
		_, c = e.s.FindCommand(m.CommandID)
	}
	if c == nil || c.Latest().State.Terminal() {
		return
	}
	st := Status{Index: e.next(), Value: m.Value, Error: m.Error}
	switch m.Kind {
	case TaskCompleted, ChildCompleted:
		st.State = StateCompleted
	case TimerCompleted:
		st.State = StateCompleted
		if len(st.Value) == 0 {
			st.Value = timeValue(instant)
		}
	case TaskFailed, ChildFailed:
		st.State = StateFailed
	case TaskTimedOut, ChildTimedOut:
		st.State = StateTimedOut
		if c.Latest().State != StateOngoing {
			return // a timeout only matters while waiting
		}
	case ChildCanceled:
		st.State = StateCanceled
	case ChildUnknown:
		st.State = StateUnknown
	}
	if c.Kind == KindTask && (m.Kind == TaskCompleted || m.Kind == TaskFailed || m.Kind == TaskTimedOut) && m.RetrySeq != c.RetrySeq {
		return // a result, or the timeout, of an earlier retry sequence
	}
	if st.Error == nil && st.State != StateCompleted {
		st.Error = e.commandError(c, st.State)
	}
	c.Statuses = append(c.Statuses, st)
	e.touch(c)
}

// commandError builds the error a workflow sees for a command that ended
// without a result when the message carried none (e.g. a timeout).
func (e *engine) commandError(c *Command, st State) *Error {
	err := &Error{Service: c.Service, Method: c.Method, TaskID: c.ID, Workflow: c.Workflow}
	task := c.Kind == KindTask
	switch {
	case task && st == StateTimedOut:
		err.Code, err.Message = CodeTaskTimedOut, "no result within "+c.Timeout.String()
	case task:
		err.Code = CodeTaskFailed
	case st == StateTimedOut:
		err.Code, err.Message, err.TaskID, err.WorkflowID = CodeWorkflowTimedOut, "no result within "+c.Timeout.String(), "", c.ID
	case st == StateCanceled:
		err.Code, err.TaskID, err.WorkflowID = CodeWorkflowCanceled, "", c.ID
	case st == StateUnknown:
		err.Code, err.TaskID, err.WorkflowID = CodeWorkflowUnknown, "", c.ID
	default:
		err.Code, err.TaskID, err.WorkflowID = CodeWorkflowFailed, "", c.ID
	}
	return err
}

// sendSignal hands a signal to the first open reception that accepts it, in
// the order receptions were opened. A signal nobody receives is discarded;
// a signal id seen before is a duplicate.
func (e *engine) sendSignal(m *SendSignal, instant time.Time) {
	s := e.s
	if e.signalSeen(m.SignalID) {
		return
	}
	for i, ch := range s.Channels {
		if ch.Name != m.Channel || (ch.Type != "" && ch.Type != m.SignalType) || !ch.Filter.Match(m.Data, e.opts.Match) {
			continue
		}
		run := s.Method(ch.MethodRunID)
		var c *Command
		if run != nil {
			c = run.Command(ch.CommandID)
		}
		if c == nil {
			continue
		}
		c.Statuses = append(c.Statuses, Status{State: StateCompleted, Index: e.next(), Value: m.Data, ReturnIndex: ch.Count, SignalID: m.SignalID})
		e.touch(c)
		if m.SignalID != "" {
			s.SignalIDs = append(s.SignalIDs, m.SignalID)
			if len(s.SignalIDs) > MaxRememberedSignals {
				s.SignalIDs = s.SignalIDs[len(s.SignalIDs)-MaxRememberedSignals:]
			}
		}
		e.event(EventSignalReceived, func(ev *Event) {
			ev.MethodRunID, ev.CommandID, ev.Channel, ev.SignalID, ev.Value = ch.MethodRunID, ch.CommandID, m.Channel, m.SignalID, m.Data
		})
		ch.Count++
		if ch.Limit > 0 && ch.Count >= ch.Limit {
			s.Channels = append(s.Channels[:i], s.Channels[i+1:]...)
		}
		return
	}
	e.event(EventSignalDiscarded, func(ev *Event) { ev.Channel, ev.SignalID, ev.Value = m.Channel, m.SignalID, m.Data })
}

// MaxRememberedSignals bounds the received signal ids a state remembers
// beyond those of its live receptions.
const MaxRememberedSignals = 256

func (e *engine) signalSeen(id string) bool {
	if id == "" {
		return false
	}
	if slices.Contains(e.s.SignalIDs, id) {
		return true
	}
	for _, run := range e.s.Methods {
		if slices.Contains(run.ArchivedSignals, id) {
			return true
		}
		for _, c := range run.Commands {
			if c.Kind != KindReceive {
				continue
			}
			for _, st := range c.Statuses {
				if st.SignalID == id {
					return true
				}
			}
		}
	}
	return false
}

// Match reports whether data passes the filter (a nil filter passes all):
// the equality part if set, and the JSONPath part if set, evaluated by
// match (nil: no signal passes a JSONPath part).
func (f *SignalFilter) Match(data json.RawMessage, match Matcher) bool {
	if f == nil {
		return true
	}
	if len(f.Value) == 0 && f.Expr == "" {
		return false // as before Expr existed: no value to compare with
	}
	if len(f.Value) > 0 && !f.matchValue(data) {
		return false
	}
	if f.Expr != "" && (match == nil || !match(f.Expr, data)) {
		return false
	}
	return true
}

// matchValue is the equality part: the value at the dot-separated Path
// equals Value.
func (f *SignalFilter) matchValue(data json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return false
	}
	if f.Path != "" {
		for _, k := range strings.Split(f.Path, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = obj[k]; !ok {
				return false
			}
		}
	}
	var want any
	if err := json.Unmarshal(f.Value, &want); err != nil {
		return false
	}
	a, _ := json.Marshal(v)
	b, _ := json.Marshal(want)
	return bytes.Equal(a, b)
}

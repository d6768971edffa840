package core

import (
	"encoding/json"
	"strings"
	"time"
)

// EventKind names a lifecycle event. The envelope type of an event is
// "weft.event." + its kind, e.g. "weft.event.task.completed".
type EventKind string

// Task events, on task-events:<Service> (subject: the task id).
const (
	EventTaskDispatched         EventKind = "task.dispatched"
	EventTaskStarted            EventKind = "task.started"
	EventTaskRetryScheduled     EventKind = "task.retryScheduled"
	EventTaskFailed             EventKind = "task.failed"
	EventTaskCompleted          EventKind = "task.completed"
	EventTaskDelegated          EventKind = "task.delegated"
	EventTaskDelegationComplete EventKind = "task.delegationCompleted"
)

// Workflow events, on workflow-events:<Workflow> (subject: the workflow id).
const (
	EventWorkflowDispatched     EventKind = "workflow.dispatched"
	EventMethodDispatched       EventKind = "workflow.methodDispatched"
	EventWorkflowCanceled       EventKind = "workflow.canceled"
	EventSignalDispatched       EventKind = "workflow.signalDispatched"
	EventSignalReceived         EventKind = "workflow.signalReceived"
	EventSignalDiscarded        EventKind = "workflow.signalDiscarded"
	EventWorkflowTaskDispatched EventKind = "workflow.taskDispatched"
	EventTimerDispatched        EventKind = "workflow.timerDispatched"
	EventMethodCompleted        EventKind = "workflow.methodCompleted"
	EventMethodFailed           EventKind = "workflow.methodFailed"
	EventMethodCanceled         EventKind = "workflow.methodCanceled"
	EventWorkflowCompleted      EventKind = "workflow.completed"
)

// EventKinds lists every event kind.
var EventKinds = []EventKind{
	EventTaskDispatched, EventTaskStarted, EventTaskRetryScheduled, EventTaskFailed, EventTaskCompleted, EventTaskDelegated,
	EventTaskDelegationComplete,
	EventWorkflowDispatched, EventMethodDispatched, EventWorkflowCanceled, EventSignalDispatched, EventSignalReceived,
	EventSignalDiscarded, EventWorkflowTaskDispatched, EventTimerDispatched, EventMethodCompleted, EventMethodFailed,
	EventMethodCanceled, EventWorkflowCompleted,
}

// Event is one lifecycle event: what happened to a task or a workflow. Only
// the fields that apply to its kind are set.
type Event struct {
	Version
	Kind        EventKind         `json:"kind"`
	Workflow    string            `json:"workflow,omitempty"`
	WorkflowID  string            `json:"workflowId,omitempty"`
	MethodRunID string            `json:"methodRunId,omitempty"`
	Method      string            `json:"method,omitempty"`
	Service     string            `json:"service,omitempty"`
	TaskID      string            `json:"taskId,omitempty"`
	RetrySeq    int               `json:"retrySeq,omitempty"`
	RetryIndex  int               `json:"retryIndex,omitempty"`
	Requester   *Requester        `json:"requester,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	// Input, Value and Error are the task's or method's input, result and
	// failure; RetryAt is when a scheduled retry runs.
	Input   json.RawMessage `json:"input,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
	Error   *Error          `json:"error,omitempty"`
	RetryAt time.Time       `json:"retryAt,omitzero"`
	// Channel and SignalID name a signal; CommandID a timer or command.
	Channel   string `json:"channel,omitempty"`
	SignalID  string `json:"signalId,omitempty"`
	CommandID string `json:"commandId,omitempty"`
}

const typeEvent = "weft.event."

func (m *Event) MessageType() string { return typeEvent + string(m.Kind) }

// IsEventType reports whether an envelope type is a lifecycle event's.
func IsEventType(t string) bool { return strings.HasPrefix(t, typeEvent) && KnownMessageType(t) }

// TaskEvent is the event of kind k about task t, for task-events:<service>.
func TaskEvent(k EventKind, t *ExecuteTask) *Event {
	e := &Event{Kind: k, Service: t.Service, Method: t.Method, TaskID: t.TaskID, RetrySeq: t.RetrySeq, RetryIndex: t.RetryIndex,
		Requester: t.Requester, Tags: t.Tags, Meta: t.Meta}
	if r := t.Requester; r.IsWorkflow() {
		e.Workflow, e.WorkflowID, e.MethodRunID = r.Workflow, r.WorkflowID, r.MethodRunID
	}
	return e
}

// EventOut routes an event: task events to task-events:<Service> with the
// task id as subject, workflow events to workflow-events:<Workflow> with
// the workflow id.
func EventOut(e *Event) Out {
	if strings.HasPrefix(string(e.Kind), "task.") {
		return Out{Topic: Topic(PrefixTaskEvents, e.Service), Subject: e.TaskID, Msg: e}
	}
	return Out{Topic: Topic(PrefixWorkflowEvents, e.Workflow), Subject: e.WorkflowID, Msg: e}
}

// TaskOutcomeEvents are the events telling what DecideTask's outputs outs
// did with an attempt of t: completed, delegated, retry scheduled or
// failed.
func TaskOutcomeEvents(t *ExecuteTask, outs []Out) []Out {
	var evs []Out
	for _, o := range outs {
		var e *Event
		switch m := o.Msg.(type) {
		case *CommandResult:
			switch m.Kind {
			case TaskCompleted:
				e = TaskEvent(EventTaskCompleted, t)
				e.Value = m.Value
			case TaskFailed:
				e = TaskEvent(EventTaskFailed, t)
				e.Error = m.Error
			}
		case *ExecuteTask:
			e = TaskEvent(EventTaskRetryScheduled, t)
			e.RetryAt = o.DeliverAt
			if f := m.LastFailure; f != nil {
				e.Error = &Error{Code: CodeTaskFailed, Service: t.Service, Method: t.Method, TaskID: t.TaskID, Message: f.Message, Failure: f}
			}
		case *SetDelegatedTask:
			e = TaskEvent(EventTaskDelegated, t)
		}
		if e != nil {
			evs = append(evs, EventOut(e))
		}
	}
	return evs
}

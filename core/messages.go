package core

import (
	"encoding/json"
	"time"
)

// MessageSchemaVersion is the version of every message payload; decoding
// rejects other versions.
const MessageSchemaVersion = 1

// Message is a typed message payload, the data of an Envelope.
type Message interface {
	// MessageType is the envelope type, e.g. "weft.engine.TaskCompleted".
	MessageType() string
	schema() *int
}

// Version is embedded in every message: the payload schema version.
type Version struct {
	V int `json:"v"`
}

func (v *Version) schema() *int { return &v.V }

// DispatchWorkflow starts a workflow instance with its main method.
type DispatchWorkflow struct {
	Version
	WorkflowID    string            `json:"workflowId"`
	Workflow      string            `json:"workflow"`
	Method        string            `json:"method"`
	Input         json.RawMessage   `json:"input,omitempty"`
	Tags          []string          `json:"tags,omitempty"`
	Meta          map[string]string `json:"meta,omitempty"`
	Requester     *Requester        `json:"requester,omitempty"`
	ClientWaiting bool              `json:"clientWaiting,omitempty"`
}

// DispatchMethod runs another method on an existing instance.
type DispatchMethod struct {
	Version
	WorkflowID    string          `json:"workflowId"`
	Workflow      string          `json:"workflow"`
	MethodRunID   string          `json:"methodRunId"`
	Method        string          `json:"method"`
	Input         json.RawMessage `json:"input,omitempty"`
	Requester     *Requester      `json:"requester,omitempty"`
	ClientWaiting bool            `json:"clientWaiting,omitempty"`
}

// WaitWorkflow asks for a method run's outcome on the client's response
// topic, or, with Requester, for a workflow method run (a parent whose
// customId dispatch found the instance running). As, when set, is the id
// the requester knows the run by, used in the answer.
type WaitWorkflow struct {
	Version
	WorkflowID  string     `json:"workflowId"`
	Workflow    string     `json:"workflow"`
	MethodRunID string     `json:"methodRunId"`
	Client      string     `json:"client,omitempty"`
	Requester   *Requester `json:"requester,omitempty"`
	As          string     `json:"as,omitempty"`
}

// CancelWorkflow cancels one method run, or the whole instance when
// MethodRunID is empty.
type CancelWorkflow struct {
	Version
	WorkflowID  string `json:"workflowId"`
	Workflow    string `json:"workflow"`
	MethodRunID string `json:"methodRunId,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// RetryWorkflowTask re-runs the failed (or running) workflow task.
type RetryWorkflowTask struct {
	Version
	WorkflowID string `json:"workflowId"`
	Workflow   string `json:"workflow"`
}

// RetryTasks re-dispatches failed or timed-out tasks matching the filters.
type RetryTasks struct {
	Version
	WorkflowID string `json:"workflowId"`
	Workflow   string `json:"workflow"`
	TaskID     string `json:"taskId,omitempty"`
	State      State  `json:"state,omitempty"`
	Service    string `json:"service,omitempty"`
}

// CompleteTimers completes the ongoing timers of one method run, or of all.
type CompleteTimers struct {
	Version
	WorkflowID  string `json:"workflowId"`
	Workflow    string `json:"workflow"`
	MethodRunID string `json:"methodRunId,omitempty"`
}

// SendSignal delivers a signal to a channel of a workflow instance.
type SendSignal struct {
	Version
	WorkflowID string          `json:"workflowId"`
	Workflow   string          `json:"workflow"`
	Channel    string          `json:"channel"`
	SignalID   string          `json:"signalId"`
	SignalType string          `json:"signalType,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// ResultKind names what happened to a command.
type ResultKind string

// Result kinds.
const (
	TaskCompleted  ResultKind = "TaskCompleted"
	TaskFailed     ResultKind = "TaskFailed"
	TaskTimedOut   ResultKind = "TaskTimedOut"
	ChildCompleted ResultKind = "ChildCompleted"
	ChildFailed    ResultKind = "ChildFailed"
	ChildCanceled  ResultKind = "ChildCanceled"
	ChildTimedOut  ResultKind = "ChildTimedOut"
	ChildUnknown   ResultKind = "ChildUnknown"
	TimerCompleted ResultKind = "TimerCompleted"
)

// CommandResult tells a workflow what happened to one of its commands.
type CommandResult struct {
	Version
	Kind        ResultKind `json:"kind"`
	WorkflowID  string     `json:"workflowId"`
	Workflow    string     `json:"workflow"`
	MethodRunID string     `json:"methodRunId"`
	CommandID   string     `json:"commandId"`
	// RetrySeq is the retry sequence of the task attempt that produced a
	// task result; results of an older sequence are stale.
	RetrySeq int             `json:"retrySeq,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	Error    *Error          `json:"error,omitempty"`
}

// WorkflowTaskCompleted is the result of a workflow task that ran without
// an uncaught error.
type WorkflowTaskCompleted struct {
	Version
	WorkflowID  string     `json:"workflowId"`
	Workflow    string     `json:"workflow"`
	TaskID      string     `json:"taskId"`
	MethodRunID string     `json:"methodRunId"`
	CodeVersion int        `json:"codeVersion"`
	Commands    []*Command `json:"commands,omitempty"`
	Step        *Step      `json:"step,omitempty"`
	// StepCommands are the earlier commands the new step waits for, as
	// recorded: one moved to a history page comes back to the state with
	// them, for the state engine to tell when the step is decided.
	StepCommands []*Command      `json:"stepCommands,omitempty"`
	Props        json.RawMessage `json:"props,omitempty"`
	Returned     bool            `json:"returned,omitempty"`
	Value        json.RawMessage `json:"value,omitempty"`
}

// WorkflowTaskFailed is the result of a workflow task whose method failed:
// it returned an error, let a deferred error escape, or the executor could
// not run it (Error says which).
type WorkflowTaskFailed struct {
	Version
	WorkflowID  string `json:"workflowId"`
	Workflow    string `json:"workflow"`
	TaskID      string `json:"taskId"`
	MethodRunID string `json:"methodRunId"`
	CodeVersion int    `json:"codeVersion"`
	Error       *Error `json:"error"`
}

// ExecuteTask asks a service executor to run one task attempt.
type ExecuteTask struct {
	Version
	TaskID      string            `json:"taskId"`
	Service     string            `json:"service"`
	Method      string            `json:"method"`
	Input       json.RawMessage   `json:"input,omitempty"`
	RetrySeq    int               `json:"retrySeq,omitempty"`
	RetryIndex  int               `json:"retryIndex,omitempty"`
	Requester   *Requester        `json:"requester"`
	Tags        []string          `json:"tags,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	LastFailure *Failure          `json:"lastFailure,omitempty"`
}

// ExecuteWorkflowTask asks a workflow executor to replay one method run up
// to its next undecided step.
type ExecuteWorkflowTask struct {
	Version
	TaskID      string                     `json:"taskId"`
	WorkflowID  string                     `json:"workflowId"`
	Workflow    string                     `json:"workflow"`
	CodeVersion int                        `json:"codeVersion"`
	Pinned      bool                       `json:"pinned,omitempty"`
	Tags        []string                   `json:"tags,omitempty"`
	Meta        map[string]string          `json:"meta,omitempty"`
	Index       int64                      `json:"index"`
	Trigger     time.Time                  `json:"trigger"`
	Method      *MethodRun                 `json:"method"`
	Props       map[string]json.RawMessage `json:"props,omitempty"`
}

// OutcomeKind names how a method run ended, for a client.
type OutcomeKind string

// Outcome kinds.
const (
	MethodCompleted OutcomeKind = "MethodCompleted"
	MethodFailed    OutcomeKind = "MethodFailed"
	MethodCanceled  OutcomeKind = "MethodCanceled"
	MethodUnknown   OutcomeKind = "MethodUnknown"
)

// MethodOutcome answers a waiting client.
type MethodOutcome struct {
	Version
	Kind        OutcomeKind     `json:"kind"`
	Workflow    string          `json:"workflow"`
	WorkflowID  string          `json:"workflowId"`
	MethodRunID string          `json:"methodRunId"`
	Value       json.RawMessage `json:"value,omitempty"`
	Error       *Error          `json:"error,omitempty"`
}

// Envelope type prefixes.
const (
	typeCmd      = "weft.cmd."
	typeEngine   = "weft.engine."
	typeExecutor = "weft.executor."
	typeClient   = "weft.client."
)

func (*DispatchWorkflow) MessageType() string      { return typeCmd + "DispatchWorkflow" }
func (*DispatchMethod) MessageType() string        { return typeCmd + "DispatchMethod" }
func (*WaitWorkflow) MessageType() string          { return typeCmd + "WaitWorkflow" }
func (*CancelWorkflow) MessageType() string        { return typeCmd + "CancelWorkflow" }
func (*RetryWorkflowTask) MessageType() string     { return typeCmd + "RetryWorkflowTask" }
func (*RetryTasks) MessageType() string            { return typeCmd + "RetryTasks" }
func (*CompleteTimers) MessageType() string        { return typeCmd + "CompleteTimers" }
func (*SendSignal) MessageType() string            { return typeCmd + "SendSignal" }
func (m *CommandResult) MessageType() string       { return typeEngine + string(m.Kind) }
func (*WorkflowTaskCompleted) MessageType() string { return typeEngine + "WorkflowTaskCompleted" }
func (*WorkflowTaskFailed) MessageType() string    { return typeEngine + "WorkflowTaskFailed" }
func (*ExecuteTask) MessageType() string           { return typeExecutor + "ExecuteTask" }
func (*ExecuteWorkflowTask) MessageType() string   { return typeExecutor + "ExecuteWorkflowTask" }
func (m *MethodOutcome) MessageType() string       { return typeClient + string(m.Kind) }

// messageFactories maps every envelope type to a constructor of its payload.
var messageFactories = func() map[string]func() Message {
	f := map[string]func() Message{}
	add := func(mk func() Message) { f[mk().MessageType()] = mk }
	add(func() Message { return &DispatchWorkflow{} })
	add(func() Message { return &DispatchMethod{} })
	add(func() Message { return &WaitWorkflow{} })
	add(func() Message { return &CancelWorkflow{} })
	add(func() Message { return &RetryWorkflowTask{} })
	add(func() Message { return &RetryTasks{} })
	add(func() Message { return &CompleteTimers{} })
	add(func() Message { return &SendSignal{} })
	add(func() Message { return &WorkflowTaskCompleted{} })
	add(func() Message { return &WorkflowTaskFailed{} })
	add(func() Message { return &ExecuteTask{} })
	add(func() Message { return &ExecuteWorkflowTask{} })
	add(func() Message { return &AddTagToWorkflow{} })
	add(func() Message { return &RemoveTagFromWorkflow{} })
	add(func() Message { return &DispatchWorkflowByCustomID{} })
	add(func() Message { return &WorkflowByTag{} })
	add(func() Message { return &SetDelegatedTask{} })
	add(func() Message { return &AddTaskTag{} })
	for _, k := range EventKinds {
		add(func() Message { return &Event{Kind: k} })
	}
	add(func() Message { return &RemoveTaskTag{} })
	add(func() Message { return &CompleteDelegatedTask{} })
	for _, k := range []ResultKind{TaskCompleted, TaskFailed, TaskTimedOut, ChildCompleted, ChildFailed, ChildCanceled, ChildTimedOut, ChildUnknown, TimerCompleted} {
		add(func() Message { return &CommandResult{Kind: k} })
	}
	for _, k := range []OutcomeKind{MethodCompleted, MethodFailed, MethodCanceled, MethodUnknown} {
		add(func() Message { return &MethodOutcome{Kind: k} })
	}
	return f
}()

// KnownMessageType reports whether t is a message type of this build.
func KnownMessageType(t string) bool { _, ok := messageFactories[t]; return ok }

// EngineTarget returns the workflow name and instance id a state-engine
// message is for; ok is false for messages the state engine does not take.
func EngineTarget(m Message) (workflow, workflowID string, ok bool) {
	switch m := m.(type) {
	case *DispatchWorkflow:
		return m.Workflow, m.WorkflowID, true
	case *DispatchMethod:
		return m.Workflow, m.WorkflowID, true
	case *WaitWorkflow:
		return m.Workflow, m.WorkflowID, true
	case *CancelWorkflow:
		return m.Workflow, m.WorkflowID, true
	case *RetryWorkflowTask:
		return m.Workflow, m.WorkflowID, true
	case *RetryTasks:
		return m.Workflow, m.WorkflowID, true
	case *CompleteTimers:
		return m.Workflow, m.WorkflowID, true
	case *SendSignal:
		return m.Workflow, m.WorkflowID, true
	case *CommandResult:
		return m.Workflow, m.WorkflowID, true
	case *WorkflowTaskCompleted:
		return m.Workflow, m.WorkflowID, true
	case *WorkflowTaskFailed:
		return m.Workflow, m.WorkflowID, true
	}
	return "", "", false
}

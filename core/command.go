package core

import (
	"encoding/json"
	"time"
)

// CommandKind says what a workflow asked for.
type CommandKind string

// Command kinds.
const (
	KindTask    CommandKind = "task"    // dispatch a service task
	KindChild   CommandKind = "child"   // dispatch a new child workflow
	KindMethod  CommandKind = "method"  // dispatch a method on an existing workflow
	KindTimer   CommandKind = "timer"   // start a timer (duration or instant)
	KindReceive CommandKind = "receive" // open a signal reception on a channel
	KindSend    CommandKind = "send"    // send a signal to a workflow
	KindInline  CommandKind = "inline"  // inline side effect, completed at once
	// KindByTag sends a command (Method names its message type, Input its
	// data) to every instance of Workflow tagged Tag; completed at once.
	KindByTag CommandKind = "bytag"
)

// State is the status of a command or a step.
type State string

// States. Completed, Canceled and Unknown are terminal; Failed and TimedOut
// are provisional for commands (a retry or a late result may complete them).
// CurrentlyFailed and CurrentlyTimedOut are step states that become Failed
// and TimedOut once the workflow catches the error.
const (
	StateOngoing           State = "ongoing"
	StateCompleted         State = "completed"
	StateFailed            State = "failed"
	StateTimedOut          State = "timed_out"
	StateCanceled          State = "canceled"
	StateUnknown           State = "unknown"
	StateCurrentlyFailed   State = "currently_failed"
	StateCurrentlyTimedOut State = "currently_timed_out"
)

// Terminal reports whether s can no longer change.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateCanceled || s == StateUnknown
}

// Command is one recorded command of a method run: what was asked (the
// fields of its kind) and the history of its status.
type Command struct {
	ID       string      `json:"id"`
	Position int         `json:"position"`
	Kind     CommandKind `json:"kind"`
	// Name is the "simple name" compared in the simple check mode:
	// "Service.method" for tasks, "Workflow.method" for workflows, the
	// channel for signals, the kind for timers and inlines.
	Name string `json:"name"`

	Service    string            `json:"service,omitempty"`
	Workflow   string            `json:"workflow,omitempty"`
	Method     string            `json:"method,omitempty"`
	TargetID   string            `json:"targetId,omitempty"`
	Input      json.RawMessage   `json:"input,omitempty"`
	Timeout    time.Duration     `json:"timeout,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
	RetrySeq   int               `json:"retrySeq,omitempty"`
	Duration   time.Duration     `json:"duration,omitempty"`
	Until      time.Time         `json:"until,omitzero"`
	Channel    string            `json:"channel,omitempty"`
	Tag        string            `json:"tag,omitempty"`
	SignalType string            `json:"signalType,omitempty"`
	Filter     *SignalFilter     `json:"filter,omitempty"`
	Limit      int               `json:"limit,omitempty"`

	// Statuses is the append-only history of the command's status; an empty
	// history means ongoing. For a receive command every entry is one
	// received signal (ReturnIndex 0, 1, ...).
	Statuses []Status `json:"statuses,omitempty"`

	enc encoded // the command as EncodeState last wrote it; not stored
}

// SignalFilter keeps only some signals of a reception. It has two parts,
// and a signal must pass every part that is set:
//
//   - equality (weft.Where), set when Value is not empty: the signal's JSON
//     value at Path equals Value. Path is a dot-separated list of object
//     keys ("" is the whole value). Core evaluates it itself; receptions
//     recorded before Expr existed have only this part.
//   - JSONPath (weft.WhereJSONPath), set when Expr is not empty: an RFC 9535
//     query such as $[?@.amount > 100], run on a one-element array holding
//     the signal; the signal passes when it selects at least one node.
//     Core does not implement JSONPath: Apply evaluates Expr with the
//     ApplyOptions.Match it is given, and without one a signal never passes
//     an Expr (it is discarded rather than let through unfiltered).
//
// A filter with neither part passes no signal.
type SignalFilter struct {
	Path  string          `json:"path,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	Expr  string          `json:"expr,omitempty"`
}

// Matcher evaluates a JSONPath filter expression (SignalFilter.Expr) on a
// signal's JSON data: true when the signal passes. It must be deterministic
// (the same answer for the same expression and data on every call) and
// return false for an invalid expression or data that is not JSON. The
// state engine passes internal/jsonfilter.Match.
type Matcher func(expr string, data json.RawMessage) bool

// Status is one status change of a command. Index is the workflow-task index
// from which the change is visible (the logical clock).
type Status struct {
	State       State           `json:"state"`
	Index       int64           `json:"index"`
	Value       json.RawMessage `json:"value,omitempty"`
	Error       *Error          `json:"error,omitempty"`
	ReturnIndex int             `json:"returnIndex,omitempty"`
	SignalID    string          `json:"signalId,omitempty"`
}

// StatusAt returns the command's status as seen at index i (for a receive,
// the awaitIndex-th signal). The zero Status with StateOngoing means not yet.
func (c *Command) StatusAt(awaitIndex int, i int64) Status {
	if c.Kind == KindReceive {
		for _, s := range c.Statuses {
			if s.ReturnIndex == awaitIndex && s.Index <= i {
				return s
			}
		}
		return Status{State: StateOngoing}
	}
	for k := len(c.Statuses) - 1; k >= 0; k-- {
		if c.Statuses[k].Index <= i {
			return c.Statuses[k]
		}
	}
	return Status{State: StateOngoing}
}

// Latest returns the command's current status (for a receive: ongoing until
// the first signal, then the last signal received).
func (c *Command) Latest() Status {
	if len(c.Statuses) == 0 {
		return Status{State: StateOngoing}
	}
	return c.Statuses[len(c.Statuses)-1]
}

// keepsMethodAlive reports whether the command still has a result to come
// that someone must receive: a running task or child. A child that timed
// out on the caller's side is still running and will report, and a cancel
// of the caller must still reach it; a failed one waits for a manual retry
// that may never come, so it does not hold its caller for ever.
func (c *Command) keepsMethodAlive() bool {
	switch st := c.Latest().State; c.Kind {
	case KindTask:
		return st == StateOngoing
	case KindChild, KindMethod:
		return st == StateOngoing || st == StateTimedOut
	}
	return false
}

// SameAs compares a replayed command with the recorded one under a check mode.
func (c *Command) SameAs(rec *Command, mode CheckMode) bool {
	switch mode {
	case CheckNone:
		return true
	case CheckStrict:
		return c.Kind == rec.Kind && c.Name == rec.Name && c.Service == rec.Service &&
			c.Workflow == rec.Workflow && c.Method == rec.Method && c.TargetID == rec.TargetID &&
			jsonEqual(c.Input, rec.Input) && c.Duration == rec.Duration && c.Until.Equal(rec.Until) &&
			c.Channel == rec.Channel && c.SignalType == rec.SignalType && c.Limit == rec.Limit && c.Tag == rec.Tag
	default:
		return c.Kind == rec.Kind && c.Name == rec.Name
	}
}

// CheckMode selects how strictly replayed code must match its history.
type CheckMode string

// Check modes.
const (
	CheckNone   CheckMode = "none"
	CheckSimple CheckMode = "simple"
	CheckStrict CheckMode = "strict"
)

// ParseCheckMode accepts "", none, simple or strict ("" is simple).
func ParseCheckMode(s string) (CheckMode, error) {
	switch CheckMode(s) {
	case "", CheckSimple:
		return CheckSimple, nil
	case CheckNone, CheckStrict:
		return CheckMode(s), nil
	}
	return "", &Error{Code: CodeBadInput, Message: "check mode " + s + " is not one of none, simple, strict"}
}

func jsonEqual(a, b json.RawMessage) bool {
	if string(a) == string(b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

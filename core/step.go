package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Step operators.
const (
	OpID  = "id"
	OpAnd = "and"
	OpOr  = "or"
)

// StepNode is the tree a workflow awaits: leaves name a command (and, for a
// signal reception, which received signal), inner nodes combine children
// with And or Or.
type StepNode struct {
	Op         string     `json:"op"`
	CommandID  string     `json:"cmd,omitempty"`
	AwaitIndex int        `json:"await,omitempty"`
	Children   []StepNode `json:"children,omitempty"`
}

// Leaf returns the step node awaiting the awaitIndex-th result of a command.
func Leaf(commandID string, awaitIndex int) StepNode {
	return StepNode{Op: OpID, CommandID: commandID, AwaitIndex: awaitIndex}
}

// Hash identifies the tree. Children order is part of it: the Or winner and
// the And values are reported by position, so reordering them is a change.
func (n StepNode) Hash() string {
	var b strings.Builder
	n.writeCanonical(&b)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:12])
}

func (n StepNode) writeCanonical(b *strings.Builder) {
	if n.Op == OpID {
		b.WriteString(n.CommandID)
		b.WriteByte('#')
		b.WriteString(strconv.Itoa(n.AwaitIndex))
		return
	}
	b.WriteString(n.Op)
	b.WriteByte('(')
	for i, c := range n.Children {
		if i > 0 {
			b.WriteByte(',')
		}
		c.writeCanonical(b)
	}
	b.WriteByte(')')
}

// equal reports whether two trees are the same (as Hash sees them).
func (n StepNode) equal(o StepNode) bool {
	if n.Op != o.Op || len(n.Children) != len(o.Children) {
		return false
	}
	if n.Op == OpID {
		return n.CommandID == o.CommandID && n.AwaitIndex == o.AwaitIndex
	}
	for i := range n.Children {
		if !n.Children[i].equal(o.Children[i]) {
			return false
		}
	}
	return true
}

// Outcome is the evaluation of a step: its state (StateOngoing = waiting),
// value or error, the Or winner (position of the winning child, -1 if none)
// and the logical index at which it was decided.
type Outcome struct {
	State  State           `json:"state"`
	Value  json.RawMessage `json:"value,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	Winner int             `json:"winner"`
	Index  int64           `json:"index"`
}

// Waiting reports whether the step is not decided yet.
func (o Outcome) Waiting() bool { return o.State == StateOngoing }

// Eval evaluates the tree as seen at index i, looking commands up by id. An
// unknown command id evaluates as StateUnknown.
func (n StepNode) Eval(lookup func(id string) *Command, i int64) Outcome {
	switch n.Op {
	case OpAnd:
		return evalAnd(n.Children, lookup, i)
	case OpOr:
		return evalOr(n.Children, lookup, i)
	}
	c := lookup(n.CommandID)
	if c == nil {
		return Outcome{State: StateUnknown, Winner: -1, Error: &Error{Code: CodeExecutorError, Message: "step refers to unknown command " + n.CommandID}}
	}
	s := c.StatusAt(n.AwaitIndex, i)
	o := Outcome{Value: s.Value, Error: s.Error, Winner: -1, Index: s.Index}
	switch s.State {
	case StateFailed:
		o.State = StateCurrentlyFailed
	case StateTimedOut:
		o.State = StateCurrentlyTimedOut
	default:
		o.State = s.State
	}
	return o
}

func evalOr(children []StepNode, lookup func(string) *Command, i int64) Outcome {
	best, last := -1, -1
	var bestO, lastO Outcome
	waiting := false
	for k, c := range children {
		o := c.Eval(lookup, i)
		switch {
		case o.State == StateCompleted:
			if best < 0 || o.Index < bestO.Index {
				best, bestO = k, o
			}
		case o.Waiting():
			waiting = true
		default:
			if last < 0 || o.Index >= lastO.Index {
				last, lastO = k, o
			}
		}
	}
	switch {
	case best >= 0:
		bestO.Winner = best
		return bestO
	case waiting || len(children) == 0:
		return Outcome{State: StateOngoing, Winner: -1}
	}
	lastO.Winner = -1
	return lastO
}

func evalAnd(children []StepNode, lookup func(string) *Command, i int64) Outcome {
	fail := -1
	var failO Outcome
	waiting := false
	var maxIndex int64
	// A first pass decides; the values are gathered only once the step is
	// completed (a fan-out's every completion evaluates its step).
	for k, c := range children {
		o := c.Eval(lookup, i)
		switch {
		case o.State == StateCompleted:
			maxIndex = max(maxIndex, o.Index)
		case o.Waiting():
			waiting = true
		default:
			if fail < 0 || o.Index < failO.Index {
				fail, failO = k, o
			}
		}
	}
	switch {
	case fail >= 0:
		failO.Winner = -1
		return failO
	case waiting:
		return Outcome{State: StateOngoing, Winner: -1}
	}
	values := make([]json.RawMessage, len(children))
	for k, c := range children {
		values[k] = c.Eval(lookup, i).Value
		if len(values[k]) == 0 {
			values[k] = json.RawMessage("null")
		}
	}
	v, _ := json.Marshal(values)
	return Outcome{State: StateCompleted, Value: v, Winner: -1, Index: maxIndex}
}

// Step is an await recorded in a method run. Outcome is nil while the step
// waits; once it is decided the outcome is kept so replays never re-evaluate
// it, with the index and the properties the method resumes with.
type Step struct {
	Position     int      `json:"position"`
	Node         StepNode `json:"node"`
	Hash         string   `json:"hash"`
	IndexAtStart int64    `json:"indexAtStart"`
	Outcome      *Outcome `json:"outcome,omitempty"`
	IndexAtEnd   int64    `json:"indexAtEnd,omitempty"`
	PropsAtEnd   string   `json:"propsAtEnd,omitempty"`
	// ResumedAt is the trigger instant of the workflow task that resumed
	// the method after this step: what Now returns after it.
	ResumedAt time.Time `json:"resumedAt,omitzero"`

	// Kept from Node, which never changes: its encoding (see EncodeState)
	// and the commands it waits for (see waits). Not stored.
	nodeEnc []byte
	waited  map[string]bool
	and     *andEval    // see evalCurrent
	enc     stepEncoded // see EncodeState
}

// waits reports whether the step's tree waits for command id.
func (s *Step) waits(id string) bool {
	return s.waitedSet()[id]
}

// waitedSet is the set of the commands the step's tree waits for.
func (s *Step) waitedSet() map[string]bool {
	if s.waited == nil {
		s.waited = map[string]bool{}
		s.Node.leaves(func(id string) { s.waited[id] = true })
	}
	return s.waited
}

// Decided reports whether the step has an outcome.
func (s *Step) Decided() bool { return s.Outcome != nil && !s.Outcome.Waiting() }

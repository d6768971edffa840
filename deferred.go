package weft

import (
	"encoding/json"
	"fmt"

	"github.com/weftio/weft/core"
)

// Status is the state of a deferred as seen by the workflow.
type Status = core.State

// Awaitable is anything And and Or can combine: a *Deferred or a group.
type Awaitable interface {
	stepNode() core.StepNode
	wf() *wfContext
	// failure is the error of a deferred that never became a command.
	failure() error
}

// Deferred is the typed, not-yet-known result of a command.
type Deferred[T any] struct {
	ctx    *wfContext
	cmd    *core.Command
	awaits int  // next awaited signal index, for receptions
	multi  bool // a reception: every Await takes the next signal
	err    error
}

func newDeferred[T any](ctx *wfContext, cmd *core.Command) *Deferred[T] {
	return &Deferred[T]{ctx: ctx, cmd: cmd, multi: cmd.Kind == core.KindReceive}
}

// ID is the command id: the task id, child workflow id, timer id or
// signal reception id.
func (d *Deferred[T]) ID() string {
	if d.cmd == nil {
		return ""
	}
	return d.cmd.ID
}

func (d *Deferred[T]) stepNode() core.StepNode { return core.Leaf(d.cmd.ID, d.awaits) }
func (d *Deferred[T]) wf() *wfContext          { return d.ctx }
func (d *Deferred[T]) failure() error          { return d.err }

// Await waits for the result. For a signal reception each call returns the
// next received signal.
func (d *Deferred[T]) Await() (T, error) {
	var zero T
	if d.err != nil {
		return zero, d.err
	}
	o := d.ctx.await(d.stepNode())
	if d.multi {
		d.awaits++
	}
	return decodeOutcome[T](o)
}

// Status reports the deferred's state as seen at this point of the replay
// (the same on every replay). It does not wait.
func (d *Deferred[T]) Status() Status {
	if d.err != nil {
		return core.StateFailed
	}
	d.ctx.check()
	return d.ctx.r.Peek(d.stepNode()).State
}

func decodeOutcome[T any](o core.Outcome) (T, error) {
	var v T
	if o.State != core.StateCompleted {
		if o.Error != nil {
			return v, o.Error.Clone()
		}
		return v, &core.Error{Code: core.CodeExecutorError, Message: fmt.Sprintf("deferred ended as %s without an error", o.State)}
	}
	if len(o.Value) > 0 {
		if err := json.Unmarshal(o.Value, &v); err != nil {
			return v, &core.Error{Code: core.CodeBadInput, Message: fmt.Sprintf("result does not decode into %T: %v", v, err)}
		}
	}
	return v, nil
}

// Group combines deferreds with And or Or.
type Group struct {
	op       string
	children []Awaitable
	ctx      *wfContext
}

// Or waits for the first of ds to complete; it fails only when all fail.
func Or(ds ...Awaitable) *Group { return group(core.OpOr, ds) }

// And waits for all of ds; it fails as soon as one fails.
func And(ds ...Awaitable) *Group { return group(core.OpAnd, ds) }

func group(op string, ds []Awaitable) *Group {
	g := &Group{op: op, children: ds}
	for _, d := range ds {
		if d != nil && d.wf() != nil {
			g.ctx = d.wf()
			break
		}
	}
	return g
}

func (g *Group) wf() *wfContext { return g.ctx }

func (g *Group) failure() error {
	for _, c := range g.children {
		if c == nil {
			return &core.Error{Code: core.CodeBadInput, Message: "And/Or of a nil deferred"}
		}
		if err := c.failure(); err != nil {
			return err
		}
	}
	return nil
}

func (g *Group) stepNode() core.StepNode {
	n := core.StepNode{Op: g.op, Children: make([]core.StepNode, len(g.children))}
	for i, c := range g.children {
		n.Children[i] = c.stepNode()
	}
	return n
}

// Await waits for the group. For Or it returns the position of the child
// that completed first; for And the position is -1. Read the values by
// awaiting the children (they are decided, so that returns at once) or use
// AwaitAll.
func (g *Group) Await() (int, error) {
	o, err := g.await()
	if err != nil {
		return -1, err
	}
	return o.Winner, nil
}

func (g *Group) await() (core.Outcome, error) {
	if err := g.failure(); err != nil {
		return core.Outcome{}, err
	}
	if g.ctx == nil {
		return core.Outcome{}, &core.Error{Code: core.CodeBadInput, Message: "And/Or of nothing"}
	}
	o := g.ctx.await(g.stepNode())
	if o.State != core.StateCompleted {
		_, err := decodeOutcome[json.RawMessage](o)
		return o, err
	}
	return o, nil
}

// AwaitAll waits for every deferred (And) and returns their values in order.
func AwaitAll[T any](ds []*Deferred[T]) ([]T, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	as := make([]Awaitable, len(ds))
	for i, d := range ds {
		if d.err != nil {
			return nil, d.err
		}
		as[i] = d
	}
	o, err := And(as...).await()
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(o.Value, &raws); err != nil || len(raws) != len(ds) {
		return nil, &core.Error{Code: core.CodeExecutorError, Message: "And result does not match its children"}
	}
	out := make([]T, len(ds))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, &core.Error{Code: core.CodeBadInput, Message: fmt.Sprintf("result %d does not decode into %T: %v", i, out[i], err)}
		}
	}
	return out, nil
}

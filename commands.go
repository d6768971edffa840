package weft

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/jsonfilter"
)

// CallOption configures one dispatch from a workflow.
type CallOption func(*callOptions)

type callOptions struct {
	tags    []string
	meta    map[string]string
	timeout time.Duration
}

// Tags attaches tags to the dispatched task or child workflow.
func Tags(tags ...string) CallOption {
	return func(o *callOptions) { o.tags = append(o.tags, tags...) }
}

// Meta attaches metadata to the dispatched task or child workflow.
func Meta(m map[string]string) CallOption {
	return func(o *callOptions) {
		if o.meta == nil {
			o.meta = map[string]string{}
		}
		maps.Copy(o.meta, m)
	}
}

// Timeout overrides the reference's caller-side timeout for this call.
func Timeout(d time.Duration) CallOption { return func(o *callOptions) { o.timeout = d } }

func applyCall(def time.Duration, opts []CallOption) callOptions {
	o := callOptions{timeout: def}
	for _, f := range opts {
		f(&o)
	}
	slices.Sort(o.tags)
	o.tags = slices.Compact(o.tags)
	return o
}

// dispatch issues a command that carries an encoded input: a task, a child
// workflow or a method. The command's Service or Workflow, Method and
// TargetID are set by the caller; the input, timeout, tags and meta here.
func dispatch[I, O any](ctx Context, cmd *core.Command, in I, timeout time.Duration, opts []CallOption) *Deferred[O] {
	c := ctx.replay()
	input, err := json.Marshal(in)
	if err != nil {
		return &Deferred[O]{ctx: c, err: &core.Error{Code: core.CodeBadInput, Service: cmd.Service, Workflow: cmd.Workflow, Method: cmd.Method,
			Message: "input does not encode: " + err.Error()}}
	}
	o := applyCall(timeout, opts)
	if _, err := core.CustomIDTag(o.tags); err != nil && cmd.Kind == core.KindChild {
		// Checked before the command is recorded, so replays agree.
		return &Deferred[O]{ctx: c, err: &core.Error{Code: core.CodeBadInput, Workflow: cmd.Workflow, Method: cmd.Method, Message: err.Error()}}
	}
	cmd.Input, cmd.Timeout = input, o.timeout
	if cmd.Kind != core.KindMethod {
		cmd.Tags, cmd.Meta = o.tags, o.meta
	}
	return newDeferred[O](c, c.command(cmd))
}

// Dispatch starts a task and returns its deferred result.
func Dispatch[I, O any](ctx Context, ref TaskRef[I, O], in I, opts ...CallOption) *Deferred[O] {
	return dispatch[I, O](ctx, &core.Command{Kind: core.KindTask, Name: ref.service + "." + ref.method, Service: ref.service, Method: ref.method},
		in, ref.timeout, opts)
}

// Call runs a task and waits for its result.
func Call[I, O any](ctx Context, ref TaskRef[I, O], in I, opts ...CallOption) (O, error) {
	return Dispatch(ctx, ref, in, opts...).Await()
}

// DispatchChild starts a new child workflow (its id is the command id) and
// returns the deferred result of its method. Cancelling this workflow
// cancels the child.
func DispatchChild[I, O any](ctx Context, ref WorkflowRef[I, O], in I, opts ...CallOption) *Deferred[O] {
	return dispatch[I, O](ctx, &core.Command{Kind: core.KindChild, Name: ref.workflow + "." + ref.method, Workflow: ref.workflow, Method: ref.method},
		in, ref.timeout, opts)
}

// CallChild runs a child workflow and waits for its result.
func CallChild[I, O any](ctx Context, ref WorkflowRef[I, O], in I, opts ...CallOption) (O, error) {
	return DispatchChild(ctx, ref, in, opts...).Await()
}

// DispatchMethod runs a method on an existing workflow instance (possibly
// this one) and returns its deferred result. Tags and meta belong to the
// instance, so only Timeout applies here.
func DispatchMethod[I, O any](ctx Context, ref WorkflowRef[I, O], workflowID string, in I, opts ...CallOption) *Deferred[O] {
	return dispatch[I, O](ctx, &core.Command{Kind: core.KindMethod, Name: ref.workflow + "." + ref.method, Workflow: ref.workflow, Method: ref.method,
		TargetID: workflowID}, in, ref.timeout, opts)
}

// Timer returns a deferred that completes after d (counted from Now).
func Timer(ctx Context, d time.Duration) *Deferred[time.Time] {
	c := ctx.replay()
	return newDeferred[time.Time](c, c.command(&core.Command{Kind: core.KindTimer, Name: string(core.KindTimer), Duration: d}))
}

// TimerUntil returns a deferred that completes at t.
func TimerUntil(ctx Context, t time.Time) *Deferred[time.Time] {
	c := ctx.replay()
	return newDeferred[time.Time](c, c.command(&core.Command{Kind: core.KindTimer, Name: string(core.KindTimer), Until: t.UTC()}))
}

// Sleep waits for d.
func Sleep(ctx Context, d time.Duration) error {
	_, err := Timer(ctx, d).Await()
	return err
}

// ReceiveOption filters or limits a signal reception.
type ReceiveOption func(*core.Command)

// Limit sets how many signals the reception takes (default 1; 0 or less:
// no limit).
func Limit(n int) ReceiveOption {
	return func(c *core.Command) {
		if n <= 0 {
			n = -1
		}
		c.Limit = n
	}
}

// OfType keeps only signals of the given type name (see SignalType).
func OfType(name string) ReceiveOption { return func(c *core.Command) { c.SignalType = name } }

// Where keeps only signals whose JSON value at the dot-separated path
// equals value. It combines with WhereJSONPath: a signal must pass both.
func Where(path string, value any) ReceiveOption {
	return func(c *core.Command) {
		b, err := json.Marshal(value)
		if err != nil {
			b = []byte("null")
		}
		if c.Filter == nil {
			c.Filter = &core.SignalFilter{}
		}
		c.Filter.Path, c.Filter.Value = path, b
	}
}

// WhereJSONPath keeps only signals that pass an RFC 9535 JSONPath filter
// query. The query starts with a filter selector whose @ is the signal:
//
//	weft.WhereJSONPath(`$[?@.amount > 100 && @.currency == "EUR"]`)
//	weft.WhereJSONPath(`$[?@.items[?@.sku == "A1"]]`) // some item is A1
//
// Formally, the query runs on a one-element array holding the signal and
// the signal passes when it selects at least one node. An invalid query
// (including one not starting with a filter selector, such as $.kind)
// opens no reception: Receive returns a deferred whose Await fails with a
// bad-input error, the same on every replay; so does an empty query unless
// Where is given too. The last WhereJSONPath of a Receive wins; it combines
// with Where (a signal must pass both).
func WhereJSONPath(query string) ReceiveOption {
	return func(c *core.Command) {
		if c.Filter == nil {
			c.Filter = &core.SignalFilter{}
		}
		c.Filter.Expr = query
	}
}

// Receive opens a reception on a channel of this workflow. Signals sent
// before it is open are not kept. Each Await returns the next signal.
// Signals go to the first open reception of the channel, in the order
// receptions were opened, whose type and filters they pass; a signal no
// reception takes is discarded.
func Receive[T any](ctx Context, ch ChannelRef[T], opts ...ReceiveOption) *Deferred[T] {
	c := ctx.replay()
	cmd := &core.Command{Kind: core.KindReceive, Name: ch.name, Channel: ch.name}
	for _, o := range opts {
		o(cmd)
	}
	// Checked before the command is recorded, so replays agree. A filter
	// with neither part can only come from WhereJSONPath(""): it would
	// pass no signal, so it is rejected as an empty query.
	if f := cmd.Filter; f != nil && (f.Expr != "" || len(f.Value) == 0) {
		if err := jsonfilter.Validate(f.Expr); err != nil {
			return &Deferred[T]{ctx: c, multi: true, err: &core.Error{Code: core.CodeBadInput, Workflow: ch.workflow,
				Message: "receive on channel " + ch.name + ": " + err.Error()}}
		}
	}
	return newDeferred[T](c, c.command(cmd))
}

// Typed lets a signal value name its type for OfType filters; otherwise the
// Go type name (fmt's %T) is used.
type Typed interface{ SignalType() string }

// SignalType returns the type name a signal value is sent with.
func SignalType(v any) string {
	if t, ok := v.(Typed); ok {
		return t.SignalType()
	}
	return fmt.Sprintf("%T", v)
}

// Send sends a signal to a channel of the workflow instance workflowID
// (possibly this one).
func Send[T any](ctx Context, ch ChannelRef[T], workflowID string, v T) error {
	data, err := json.Marshal(v)
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: ch.workflow, Message: "signal does not encode: " + err.Error()}
	}
	c := ctx.replay()
	c.command(&core.Command{Kind: core.KindSend, Name: ch.name, Workflow: ch.workflow, TargetID: workflowID, Channel: ch.name,
		SignalType: SignalType(v), Input: data})
	return nil
}

// Inline runs a side effect once and records its result; replays return the
// recorded result without running fn again.
func Inline[T any](ctx Context, fn func() (T, error)) (T, error) {
	c := ctx.replay()
	c.check()
	var zero T
	raw, ferr, err := c.r.Inline(func() (json.RawMessage, *core.Error) {
		v, err := fn()
		if err != nil {
			return nil, &core.Error{Code: core.CodeExecutorError, Message: "inline: " + err.Error(), Failure: failureOf(err)}
		}
		b, merr := json.Marshal(v)
		if merr != nil {
			return nil, &core.Error{Code: core.CodeBadInput, Message: "inline value does not encode: " + merr.Error()}
		}
		return b, nil
	})
	if err != nil {
		c.fail(err)
	}
	if ferr != nil {
		return zero, ferr.Clone()
	}
	if err := json.Unmarshal(raw, &zero); err != nil {
		return zero, &core.Error{Code: core.CodeBadInput, Message: fmt.Sprintf("inline value does not decode into %T: %v", zero, err)}
	}
	return zero, nil
}

package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
)

// Handle is a typed execution: Await decodes the result into O.
type Handle[O any] struct {
	Execution
	c *Client
}

// Await waits for the method run's result.
func (h *Handle[O]) Await(ctx context.Context) (O, error) {
	raw, err := h.c.AwaitJSON(ctx, h.Execution)
	return decode[O](raw, err)
}

func decode[O any](raw json.RawMessage, err error) (O, error) {
	var out O
	if err != nil {
		return out, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return out, &core.Error{Code: core.CodeBadInput, Message: fmt.Sprintf("result does not decode into %T: %v", out, err)}
		}
	}
	return out, nil
}

func encode[I any](workflow, method string, in I) (json.RawMessage, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, &core.Error{Code: core.CodeBadInput, Workflow: workflow, Method: method, Message: "input does not encode: " + err.Error()}
	}
	return b, nil
}

func withRefTimeout(d interface{ Timeout() time.Duration }, opts []DispatchOption) []DispatchOption {
	if t := d.Timeout(); t > 0 {
		return append([]DispatchOption{WithTimeout(t)}, opts...)
	}
	return opts
}

// Dispatch starts a workflow and returns a handle at once.
func Dispatch[I, O any](ctx context.Context, c *Client, ref weft.WorkflowRef[I, O], in I, opts ...DispatchOption) (*Handle[O], error) {
	input, err := encode(ref.Workflow(), ref.Method(), in)
	if err != nil {
		return nil, err
	}
	ex, err := c.DispatchJSON(ctx, ref.Workflow(), ref.Method(), input, withRefTimeout(ref, opts)...)
	if err != nil {
		return nil, err
	}
	return &Handle[O]{Execution: ex, c: c}, nil
}

// Run starts a workflow and waits for its result.
func Run[I, O any](ctx context.Context, c *Client, ref weft.WorkflowRef[I, O], in I, opts ...DispatchOption) (O, error) {
	input, err := encode(ref.Workflow(), ref.Method(), in)
	if err != nil {
		var zero O
		return zero, err
	}
	return decode[O](c.RunJSON(ctx, ref.Workflow(), ref.Method(), input, withRefTimeout(ref, opts)...))
}

// Get returns a handle on an existing instance's main method.
func Get[I, O any](c *Client, ref weft.WorkflowRef[I, O], workflowID string) *Handle[O] {
	return &Handle[O]{Execution: Execution{Workflow: ref.Workflow(), WorkflowID: workflowID, MethodRunID: workflowID, timeout: ref.Timeout()}, c: c}
}

// DispatchMethod runs another method on an existing instance.
func DispatchMethod[I, O any](ctx context.Context, c *Client, ref weft.WorkflowRef[I, O], workflowID string, in I) (*Handle[O], error) {
	input, err := encode(ref.Workflow(), ref.Method(), in)
	if err != nil {
		return nil, err
	}
	ex, err := c.DispatchMethodJSON(ctx, ref.Workflow(), workflowID, ref.Method(), input)
	if err != nil {
		return nil, err
	}
	ex.timeout = ref.Timeout()
	return &Handle[O]{Execution: ex, c: c}, nil
}

// Signal sends a typed signal to a channel of an instance.
func Signal[T any](ctx context.Context, c *Client, ch weft.ChannelRef[T], workflowID string, v T) error {
	data, err := json.Marshal(v)
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: ch.Workflow(), Message: "signal does not encode: " + err.Error()}
	}
	return c.SignalJSON(ctx, ch.Workflow(), workflowID, ch.Name(), weft.SignalType(v), data)
}

// CompleteTask completes the delegated task taskID of ref with a typed
// value (see Client.CompleteDelegatedTask).
func CompleteTask[I, O any](ctx context.Context, c *Client, ref weft.TaskRef[I, O], taskID string, value O) error {
	b, err := json.Marshal(value)
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Service: ref.Service(), TaskID: taskID, Message: "value does not encode: " + err.Error()}
	}
	return c.CompleteDelegatedTask(ctx, ref.Service(), taskID, b)
}

package client

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// DispatchOption configures a dispatch.
type DispatchOption func(*dispatchOptions)

type dispatchOptions struct {
	id      string
	tags    []string
	meta    map[string]string
	timeout time.Duration
}

// WithID sets the workflow id (default: a new UUIDv7). Dispatching again
// with the same id attaches to the existing instance.
func WithID(id string) DispatchOption { return func(o *dispatchOptions) { o.id = id } }

// WithTags attaches tags to the instance.
func WithTags(tags ...string) DispatchOption {
	return func(o *dispatchOptions) { o.tags = append(o.tags, tags...) }
}

// WithMeta attaches metadata to the instance.
func WithMeta(m map[string]string) DispatchOption {
	return func(o *dispatchOptions) {
		if o.meta == nil {
			o.meta = map[string]string{}
		}
		maps.Copy(o.meta, m)
	}
}

// WithTimeout bounds how long awaits wait (the workflow keeps running).
func WithTimeout(d time.Duration) DispatchOption { return func(o *dispatchOptions) { o.timeout = d } }

// Execution identifies one method run of a workflow instance.
type Execution struct {
	Workflow    string
	WorkflowID  string
	MethodRunID string
	timeout     time.Duration
}

// DispatchJSON starts a workflow with a JSON input and returns at once.
func (c *Client) DispatchJSON(ctx context.Context, workflow, method string, input json.RawMessage, opts ...DispatchOption) (Execution, error) {
	return c.dispatch(ctx, workflow, method, input, false, opts)
}

func (c *Client) dispatch(ctx context.Context, workflow, method string, input json.RawMessage, waiting bool, opts []DispatchOption) (Execution, error) {
	var o dispatchOptions
	for _, f := range opts {
		f(&o)
	}
	if workflow == "" || method == "" {
		return Execution{}, &core.Error{Code: core.CodeBadInput, Message: "workflow and method names are required"}
	}
	if c.cfg.Registry != nil {
		if err := c.cfg.Registry.CheckWorkflowInput(workflow, method, input); err != nil {
			return Execution{}, err
		}
	} else if len(input) > 0 && !json.Valid(input) {
		return Execution{}, &core.Error{Code: core.CodeBadInput, Workflow: workflow, Method: method, Message: "input is not valid JSON"}
	}
	if o.id == "" {
		o.id = newID()
	}
	ex := Execution{Workflow: workflow, WorkflowID: o.id, MethodRunID: o.id, timeout: o.timeout}
	msg := &core.DispatchWorkflow{WorkflowID: o.id, Workflow: workflow, Method: method, Input: input, Tags: o.tags, Meta: o.meta,
		Requester: &core.Requester{Client: c.cfg.Name}, ClientWaiting: waiting}
	return ex, c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), o.id, msg)
}

// RunJSON starts a workflow and waits for its result.
func (c *Client) RunJSON(ctx context.Context, workflow, method string, input json.RawMessage, opts ...DispatchOption) (json.RawMessage, error) {
	var o dispatchOptions
	for _, f := range opts {
		f(&o)
	}
	if o.id == "" {
		o.id = newID()
		opts = append(opts, WithID(o.id))
	}
	ch, cancel, err := c.wait(o.id)
	if err != nil {
		return nil, err
	}
	defer cancel()
	ex, err := c.dispatch(ctx, workflow, method, input, true, opts)
	if err != nil {
		return nil, err
	}
	out, err := c.receive(ctx, ch, ex.timeout, workflow, ex.WorkflowID, ex.MethodRunID)
	if err != nil {
		return nil, err
	}
	return out.Value, outcomeError(out)
}

// AwaitJSON waits for the outcome of a method run (the main method's run id
// is the workflow id). It works for running and ended instances alike.
func (c *Client) AwaitJSON(ctx context.Context, ex Execution) (json.RawMessage, error) {
	if ex.MethodRunID == "" {
		ex.MethodRunID = ex.WorkflowID
	}
	ch, cancel, err := c.wait(ex.MethodRunID)
	if err != nil {
		return nil, err
	}
	defer cancel()
	msg := &core.WaitWorkflow{WorkflowID: ex.WorkflowID, Workflow: ex.Workflow, MethodRunID: ex.MethodRunID, Client: c.cfg.Name}
	if err := c.send(ctx, core.Topic(core.PrefixWorkflowCmd, ex.Workflow), ex.WorkflowID, msg); err != nil {
		return nil, err
	}
	out, err := c.receive(ctx, ch, ex.timeout, ex.Workflow, ex.WorkflowID, ex.MethodRunID)
	if err != nil {
		return nil, err
	}
	return out.Value, outcomeError(out)
}

// DispatchMethodJSON runs another method on an existing instance.
func (c *Client) DispatchMethodJSON(ctx context.Context, workflow, workflowID, method string, input json.RawMessage) (Execution, error) {
	if c.cfg.Registry != nil {
		if err := c.cfg.Registry.CheckWorkflowInput(workflow, method, input); err != nil {
			return Execution{}, err
		}
	}
	run := newID()
	msg := &core.DispatchMethod{WorkflowID: workflowID, Workflow: workflow, MethodRunID: run, Method: method, Input: input,
		Requester: &core.Requester{Client: c.cfg.Name}}
	return Execution{Workflow: workflow, WorkflowID: workflowID, MethodRunID: run}, c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// SignalJSON sends a signal to a channel of an instance. signalType is the
// type name receptions may filter on ("" for none).
func (c *Client) SignalJSON(ctx context.Context, workflow, workflowID, channel, signalType string, data json.RawMessage) error {
	if !json.Valid(data) {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, WorkflowID: workflowID, Message: "signal is not valid JSON"}
	}
	msg := &core.SendSignal{WorkflowID: workflowID, Workflow: workflow, Channel: channel, SignalID: newID(), SignalType: signalType, Data: data}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// Cancel cancels a whole instance (methodRunID "") or one method run. Child
// workflows are cancelled too; running tasks are not interrupted.
func (c *Client) Cancel(ctx context.Context, workflow, workflowID, methodRunID string) error {
	msg := &core.CancelWorkflow{WorkflowID: workflowID, Workflow: workflow, MethodRunID: methodRunID, Reason: core.ReasonCanceledByClient}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// RetryWorkflowTask re-runs the failed workflow task of an instance, e.g.
// after deploying fixed workflow code.
func (c *Client) RetryWorkflowTask(ctx context.Context, workflow, workflowID string) error {
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, &core.RetryWorkflowTask{WorkflowID: workflowID, Workflow: workflow})
}

// TaskFilter selects tasks for RetryTasks; the zero filter selects every
// failed or timed-out task.
type TaskFilter struct {
	TaskID  string
	State   core.State
	Service string
}

// RetryTasks re-dispatches the failed or timed-out tasks of an instance.
func (c *Client) RetryTasks(ctx context.Context, workflow, workflowID string, f TaskFilter) error {
	msg := &core.RetryTasks{WorkflowID: workflowID, Workflow: workflow, TaskID: f.TaskID, State: f.State, Service: f.Service}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// CompleteTimers completes the ongoing timers of an instance now (of one
// method run, or of all when methodRunID is "").
func (c *Client) CompleteTimers(ctx context.Context, workflow, workflowID, methodRunID string) error {
	msg := &core.CompleteTimers{WorkflowID: workflowID, Workflow: workflow, MethodRunID: methodRunID}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// Describe returns the stored state of an instance as JSON (live state or
// result record). It needs Config.Store.
func (c *Client) Describe(ctx context.Context, workflowID string) (json.RawMessage, error) {
	st, err := c.load(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(st, "", "  ")
}

// Result is the outcome of an ended instance's main method.
type Result struct {
	WorkflowID string          `json:"workflowId"`
	Workflow   string          `json:"workflow"`
	State      core.State      `json:"state"`
	Value      json.RawMessage `json:"value,omitempty"`
	Error      *core.Error     `json:"error,omitempty"`
	EndedAt    time.Time       `json:"endedAt"`
}

// ErrNotEnded is returned by ReadResult for an instance still running.
var ErrNotEnded = &core.Error{Code: "not_ended", Message: "the workflow instance has not ended yet"}

// ReadResult reads the result record of an ended instance (kept for the
// retention period). It needs Config.Store.
func (c *Client) ReadResult(ctx context.Context, workflowID string) (*Result, error) {
	st, err := c.load(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	if st.Result == nil {
		return nil, ErrNotEnded
	}
	r := &Result{WorkflowID: st.WorkflowID, Workflow: st.WorkflowName, State: st.Result.State, EndedAt: st.Result.EndedAt}
	if m := st.EndedMethod(st.WorkflowID); m != nil {
		r.Value, r.Error = m.Value, m.Error
	}
	return r, nil
}

func (c *Client) load(ctx context.Context, workflowID string) (*core.WorkflowState, error) {
	if c.cfg.Store == nil {
		return nil, fmt.Errorf("client %s: reading states needs a storage configuration", c.cfg.Name)
	}
	// An unversioned read: served by the read cache when one is configured.
	raw, err := storage.ReadValue(ctx, c.cfg.Store, core.StateKey(workflowID))
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", workflowID, err)
	}
	if raw == nil {
		return nil, &core.Error{Code: core.CodeWorkflowUnknown, WorkflowID: workflowID, Message: "no such workflow instance (never started, or past its retention)"}
	}
	return core.DecodeState(raw)
}

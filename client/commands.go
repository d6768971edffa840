package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// DispatchOption configures a dispatch.
type DispatchOption func(*dispatchOptions)

type dispatchOptions struct {
	id string
	// idGiven: the caller chose id (WithID), so it may be taken.
	idGiven bool
	tags    []string
	meta    map[string]string
	timeout time.Duration
}

// WithID sets the workflow id (default: a new UUIDv7). Dispatching again
// with the same id attaches to the existing instance. Ids are unique
// across workflow types: dispatching workflow B with the id of an instance
// of A fails with ErrBadInput (at once when the client can read states,
// otherwise when the result is awaited).
func WithID(id string) DispatchOption { return func(o *dispatchOptions) { o.id, o.idGiven = id, true } }

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
	// customTag is the customId tag of a dispatch that may have attached
	// to an instance with another id: waiting goes through the tag engine.
	customTag string
	topics    []string // whose consumers the answer depends on
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
	} else if o.idGiven {
		if err := c.checkIDFree(ctx, workflow, o.id); err != nil {
			return Execution{}, err
		}
	}
	ex := Execution{Workflow: workflow, WorkflowID: o.id, MethodRunID: o.id, timeout: o.timeout}
	msg := &core.DispatchWorkflow{WorkflowID: o.id, Workflow: workflow, Method: method, Input: input, Tags: o.tags, Meta: o.meta,
		Requester: &core.Requester{Client: c.cfg.Name}, ClientWaiting: waiting}
	outs, err := core.DispatchOuts(msg)
	if err != nil {
		return Execution{}, &core.Error{Code: core.CodeBadInput, Workflow: workflow, Method: method, Message: err.Error()}
	}
	ex.customTag, _ = core.CustomIDTag(o.tags)
	ex.topics = answerTopics(workflow, outs[len(outs)-1].Topic)
	// Tags first, so by-tag commands reach the instance from its start.
	return ex, c.sendOuts(ctx, outs...)
}

// RunJSON starts a workflow and waits for its result.
func (c *Client) RunJSON(ctx context.Context, workflow, method string, input json.RawMessage, opts ...DispatchOption) (json.RawMessage, error) {
	var o dispatchOptions
	for _, f := range opts {
		f(&o)
	}
	if o.id == "" {
		id := newID()
		o.id = id
		opts = append(opts, func(o *dispatchOptions) { o.id = id })
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
	out, err := c.receive(ctx, ch, ex.timeout, workflow, ex.WorkflowID, ex.MethodRunID, ex.topics)
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
	topics := answerTopics(ex.Workflow, "")
	if ex.customTag != "" && ex.MethodRunID == ex.WorkflowID {
		// The instance may run under another id: the tag engine knows.
		msg := &core.DispatchWorkflowByCustomID{Tag: ex.customTag, WaitOnly: true, Dispatch: core.DispatchWorkflow{
			WorkflowID: ex.WorkflowID, Workflow: ex.Workflow, Requester: &core.Requester{Client: c.cfg.Name}, ClientWaiting: true}}
		out := core.TagOut(msg)
		if err := c.sendOuts(ctx, out); err != nil {
			return nil, err
		}
		topics = answerTopics(ex.Workflow, out.Topic)
	} else {
		msg := &core.WaitWorkflow{WorkflowID: ex.WorkflowID, Workflow: ex.Workflow, MethodRunID: ex.MethodRunID, Client: c.cfg.Name}
		if err := c.send(ctx, core.Topic(core.PrefixWorkflowCmd, ex.Workflow), ex.WorkflowID, msg); err != nil {
			return nil, err
		}
	}
	out, err := c.receive(ctx, ch, ex.timeout, ex.Workflow, ex.WorkflowID, ex.MethodRunID, topics)
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
// type name receptions may filter on ("" for none). When the client can
// read states, a signal (like a cancel, a retry or a timer completion) for
// an instance that does not exist is ErrWorkflowUnknown and is not sent.
func (c *Client) SignalJSON(ctx context.Context, workflow, workflowID, channel, signalType string, data json.RawMessage) error {
	if !json.Valid(data) {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, WorkflowID: workflowID, Message: "signal is not valid JSON"}
	}
	if err := c.requireInstance(ctx, workflow, workflowID); err != nil {
		return err
	}
	msg := &core.SendSignal{WorkflowID: workflowID, Workflow: workflow, Channel: channel, SignalID: newID(), SignalType: signalType, Data: data}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// Cancel cancels a whole instance (methodRunID "") or one method run. Child
// workflows are cancelled too; running tasks are not interrupted.
func (c *Client) Cancel(ctx context.Context, workflow, workflowID, methodRunID string) error {
	if err := c.requireInstance(ctx, workflow, workflowID); err != nil {
		return err
	}
	msg := &core.CancelWorkflow{WorkflowID: workflowID, Workflow: workflow, MethodRunID: methodRunID, Reason: core.ReasonCanceledByClient}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// RetryWorkflowTask re-runs the failed workflow task of an instance, e.g.
// after deploying fixed workflow code.
func (c *Client) RetryWorkflowTask(ctx context.Context, workflow, workflowID string) error {
	if err := c.requireInstance(ctx, workflow, workflowID); err != nil {
		return err
	}
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
	if err := c.requireInstance(ctx, workflow, workflowID); err != nil {
		return err
	}
	msg := &core.RetryTasks{WorkflowID: workflowID, Workflow: workflow, TaskID: f.TaskID, State: f.State, Service: f.Service}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// CompleteTimers completes the ongoing timers of an instance now (of one
// method run, or of all when methodRunID is "").
func (c *Client) CompleteTimers(ctx context.Context, workflow, workflowID, methodRunID string) error {
	if err := c.requireInstance(ctx, workflow, workflowID); err != nil {
		return err
	}
	msg := &core.CompleteTimers{WorkflowID: workflowID, Workflow: workflow, MethodRunID: methodRunID}
	return c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg)
}

// Describe returns the stored state of an instance as JSON (live state or
// result record). It needs Config.Store.
func (c *Client) Describe(ctx context.Context, workflowID string) (json.RawMessage, error) {
	st, err := c.load(ctx, workflowID, true)
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
	st, err := c.load(ctx, workflowID, false)
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

// checkIDFree refuses a dispatch of workflow under an id that an instance
// of another workflow holds, when the client can read states (the state
// engine refuses it anyway, for clients that cannot and for races).
func (c *Client) checkIDFree(ctx context.Context, workflow, id string) error {
	if c.cfg.Store == nil {
		return nil
	}
	st, err := c.load(ctx, id, false)
	if errors.Is(err, core.ErrWorkflowUnknown) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.WorkflowName != workflow {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, WorkflowID: id,
			Message: fmt.Sprintf("cannot start: workflow id %s is the id of an instance of workflow %s; ids are unique across workflow types", id, st.WorkflowName)}
	}
	return nil
}

// load reads the state of an instance, with its whole history if whole
// (see LoadState), else as stored.
func (c *Client) load(ctx context.Context, workflowID string, whole bool) (*core.WorkflowState, error) {
	if c.cfg.Store == nil {
		return nil, fmt.Errorf("client %s: reading states needs a storage configuration", c.cfg.Name)
	}
	if whole {
		return LoadState(ctx, c.cfg.Store, workflowID)
	}
	// An unversioned read: served by the read cache when one is configured.
	raw, err := storage.ReadValue(ctx, c.cfg.Store, core.StateKey(workflowID))
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", workflowID, err)
	}
	return decodeStored(workflowID, raw)
}

func decodeStored(workflowID string, raw []byte) (*core.WorkflowState, error) {
	if raw == nil {
		return nil, &core.Error{Code: core.CodeWorkflowUnknown, WorkflowID: workflowID, Message: "no such workflow instance (never started, or past its retention)"}
	}
	return core.DecodeState(raw)
}

// LoadState reads the stored state of an instance with its whole history:
// the history pages a long run keeps apart are merged back in (see
// core.ArchiveThreshold). An instance with no state is ErrWorkflowUnknown.
// The state and its pages are read one after the other: should the run
// move on meanwhile (its pages gone with it), the state is read again.
func LoadState(ctx context.Context, kv storage.KeyValue, workflowID string) (*core.WorkflowState, error) {
	// First an unversioned read, served by the read cache when there is
	// one; then, when its pages are gone, versioned reads, which never are.
	raw, err := storage.ReadValue(ctx, kv, core.StateKey(workflowID))
	for attempt := 0; ; attempt++ {
		if err != nil {
			return nil, fmt.Errorf("read state of %s: %w", workflowID, err)
		}
		st, err := decodeStored(workflowID, raw)
		if err != nil {
			return nil, err
		}
		pages, missing, err := readPages(ctx, kv, st.PageKeys())
		if err != nil {
			return nil, fmt.Errorf("read the history pages of %s: %w", workflowID, err)
		}
		if !missing || attempt == 3 {
			if err := st.MergePages(pages); err != nil {
				return nil, err
			}
			return st, nil
		}
		raw, _, err = kv.Get(ctx, core.StateKey(workflowID))
	}
}

// readPages reads and decodes the pages of keys; missing reports one gone.
func readPages(ctx context.Context, kv storage.KeyValue, keys []string) (map[string]*core.HistoryPage, bool, error) {
	pages := make(map[string]*core.HistoryPage, len(keys))
	if len(keys) == 0 {
		return pages, false, nil
	}
	entries, err := kv.GetMany(ctx, keys)
	if err != nil {
		return nil, false, err
	}
	missing := false
	for i, e := range entries {
		if e.Version == 0 {
			missing = true
			continue
		}
		p, err := core.DecodePage(e.Value)
		if err != nil {
			return nil, false, err
		}
		pages[keys[i]] = p
	}
	return pages, missing, nil
}

// ByTag sends cmd (CancelWorkflow, SendSignal, DispatchMethod,
// RetryWorkflowTask, RetryTasks or CompleteTimers; its workflow id is
// ignored) to every running instance of workflow tagged tag. The tag engine
// fans it out a page at a time, so it reaches any number of instances.
func (c *Client) byTag(ctx context.Context, workflow, tag string, cmd core.Message) error {
	if workflow == "" || tag == "" {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, Message: "workflow and tag are required"}
	}
	m, err := core.NewWorkflowByTag(workflow, tag, cmd, "")
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, Message: err.Error()}
	}
	return c.sendOuts(ctx, core.TagOut(m))
}

// CancelByTag cancels every instance of workflow tagged tag (and their
// child workflows).
func (c *Client) CancelByTag(ctx context.Context, workflow, tag string) error {
	return c.byTag(ctx, workflow, tag, &core.CancelWorkflow{Workflow: workflow, Reason: core.ReasonCanceledByClient})
}

// SignalByTag sends one signal to a channel of every instance of workflow
// tagged tag.
func (c *Client) SignalByTag(ctx context.Context, workflow, tag, channel, signalType string, data json.RawMessage) error {
	if !json.Valid(data) {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, Message: "signal is not valid JSON"}
	}
	return c.byTag(ctx, workflow, tag, &core.SendSignal{Workflow: workflow, Channel: channel, SignalID: newID(), SignalType: signalType, Data: data})
}

// DispatchMethodByTag runs method on every instance of workflow tagged tag.
// Nobody waits for those runs; each gets the id "<runID>@<workflowID>".
func (c *Client) DispatchMethodByTag(ctx context.Context, workflow, tag, method string, input json.RawMessage) (runID string, err error) {
	if c.cfg.Registry != nil {
		if err := c.cfg.Registry.CheckWorkflowInput(workflow, method, input); err != nil {
			return "", err
		}
	}
	runID = newID()
	return runID, c.byTag(ctx, workflow, tag, &core.DispatchMethod{Workflow: workflow, MethodRunID: runID, Method: method, Input: input})
}

// RetryWorkflowTaskByTag retries the failed workflow task of every
// instance of workflow tagged tag.
func (c *Client) RetryWorkflowTaskByTag(ctx context.Context, workflow, tag string) error {
	return c.byTag(ctx, workflow, tag, &core.RetryWorkflowTask{Workflow: workflow})
}

// RetryTasksByTag retries the failed or timed-out tasks matching f of every
// instance of workflow tagged tag.
func (c *Client) RetryTasksByTag(ctx context.Context, workflow, tag string, f TaskFilter) error {
	return c.byTag(ctx, workflow, tag, &core.RetryTasks{Workflow: workflow, TaskID: f.TaskID, State: f.State, Service: f.Service})
}

// CompleteTimersByTag completes the ongoing timers of every instance of
// workflow tagged tag.
func (c *Client) CompleteTimersByTag(ctx context.Context, workflow, tag string) error {
	return c.byTag(ctx, workflow, tag, &core.CompleteTimers{Workflow: workflow})
}

// WorkflowIDsByTag lists the ids of the running instances of workflow
// tagged tag. It needs Config.Tags.
func (c *Client) WorkflowIDsByTag(ctx context.Context, workflow, tag string) ([]string, error) {
	return c.idsByTag(ctx, core.TagKey(workflow, tag), "workflow "+workflow)
}

// TaskIDsByTag lists the ids of the tasks of service tagged tag that have
// not completed (failed tasks keep their tags). It needs Config.Tags.
func (c *Client) TaskIDsByTag(ctx context.Context, service, tag string) ([]string, error) {
	return c.idsByTag(ctx, core.TaskTagKey(service, tag), "service "+service)
}

func (c *Client) idsByTag(ctx context.Context, key, of string) ([]string, error) {
	if c.cfg.Tags == nil {
		return nil, errors.New("client: ids by tag need Config.Tags (the tag engine's key-set store)")
	}
	var ids []string
	cursor := ""
	for {
		page, next, err := c.cfg.Tags.Page(ctx, key, cursor, 1000)
		if err != nil {
			return nil, fmt.Errorf("client: ids of %s: %w", of, err)
		}
		for _, id := range page {
			ids = append(ids, string(id))
		}
		if next == "" {
			return ids, nil
		}
		cursor = next
	}
}

// CompleteDelegatedTask completes a delegated task (see weft.Delegated)
// with value, the task's JSON result. taskID is the id the task saw in its
// TaskContext.Info. A completion sent before the task's attempt returned is
// kept until the delegation is recorded; only the first completion counts.
func (c *Client) CompleteDelegatedTask(ctx context.Context, service, taskID string, value json.RawMessage) error {
	if service == "" || taskID == "" {
		return &core.Error{Code: core.CodeBadInput, Service: service, TaskID: taskID, Message: "service and task id are required"}
	}
	if len(value) > 0 && !json.Valid(value) {
		return &core.Error{Code: core.CodeBadInput, Service: service, TaskID: taskID, Message: "value is not valid JSON"}
	}
	return c.sendOuts(ctx, core.TaskTagOut(&core.CompleteDelegatedTask{TaskID: taskID, Service: service, Value: value}))
}

// FailDelegatedTask fails a delegated task with message; the caller's
// workflow sees a task failure.
func (c *Client) FailDelegatedTask(ctx context.Context, service, taskID, message string) error {
	if service == "" || taskID == "" {
		return &core.Error{Code: core.CodeBadInput, Service: service, TaskID: taskID, Message: "service and task id are required"}
	}
	return c.sendOuts(ctx, core.TaskTagOut(&core.CompleteDelegatedTask{TaskID: taskID, Service: service,
		Error: &core.Error{Code: core.CodeTaskFailed, Message: message}}))
}

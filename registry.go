package weft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/weftio/weft/core"
)

// DefaultWorkflowTaskTimeout bounds one workflow task (one replay).
const DefaultWorkflowTaskTimeout = 60 * time.Second

// Registry holds service and workflow implementations. It is safe for
// concurrent use; register everything before starting a runtime.
type Registry struct {
	mu        sync.RWMutex
	tasks     map[string]map[string]*taskImpl
	workflows map[string]*workflowImpl
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{tasks: map[string]map[string]*taskImpl{}, workflows: map[string]*workflowImpl{}}
}

type taskImpl struct {
	inType    reflect.Type
	run       func(ctx TaskContext, in json.RawMessage) (json.RawMessage, error)
	retry     core.RetryPolicy
	timeout   time.Duration
	delegated bool
	local     bool
}

type workflowImpl struct {
	name     string
	versions map[int]*workflowVersion
}

type workflowVersion struct {
	version     int
	instType    reflect.Type // nil: no properties
	newInstance func() any
	methods     map[string]*workflowMethod
	checkMode   core.CheckMode
	taskTimeout time.Duration
	// set records which version-wide options a registration gave.
	checkModeSet, timeoutSet bool
}

type workflowMethod struct {
	inType reflect.Type
	run    func(inst any, ctx Context, in json.RawMessage) (json.RawMessage, error)
}

// TaskOption configures a task implementation.
type TaskOption func(*taskImpl)

// WithRetry sets the task's retry policy (default: no retry).
func WithRetry(p core.RetryPolicy) TaskOption { return func(t *taskImpl) { t.retry = p } }

// WithExecutionTimeout bounds each attempt; the task's context is cancelled
// when it expires and the attempt fails (and may be retried).
func WithExecutionTimeout(d time.Duration) TaskOption { return func(t *taskImpl) { t.timeout = d } }

// Delegated declares that the task completes later: an attempt that
// returns without error has handed the work to an outside system (its
// return value is ignored), which completes the task through the client
// with the task id from TaskContext.Info (client.CompleteDelegatedTask or
// client.FailDelegatedTask). A completion that arrives before the
// delegation is recorded is kept until it is.
func Delegated() TaskOption { return func(t *taskImpl) { t.delegated = true } }

// Local lets the task run in the process of the workflow's state engine
// when that process has it registered too (the embedded runtime, the dev
// server, a worker running both roles): as soon as a workflow dispatches
// it, it runs there and its outcome is recorded with the workflow's next
// state write, sparing both broker hops of a step, as an in-process step
// of a workflow library would. Its retry policy and execution timeout
// hold; a retry goes through the broker to an executor. Meant for short
// tasks: a crash before the state write runs the attempt again (tasks are
// at least once anyway). A delegated task never runs so.
func Local() TaskOption { return func(t *taskImpl) { t.local = true } }

// RetryPolicy is the task retry policy; see core.RetryPolicy.
type RetryPolicy = core.RetryPolicy

// DefaultRetryPolicy returns 1 s, ×2, ±50 %, capped at 1000 s, 11 retries.
func DefaultRetryPolicy() RetryPolicy { return core.DefaultRetryPolicy() }

// RegisterTask registers the implementation of a task.
func RegisterTask[I, O any](r *Registry, ref TaskRef[I, O], fn func(TaskContext, I) (O, error), opts ...TaskOption) error {
	if ref.service == "" || ref.method == "" {
		return fmt.Errorf("register task: service and method names are required")
	}
	if fn == nil {
		return fmt.Errorf("register task %s.%s: nil function", ref.service, ref.method)
	}
	impl := &taskImpl{inType: reflect.TypeFor[I]()}
	for _, o := range opts {
		o(impl)
	}
	if err := impl.retry.Validate(); err != nil {
		return fmt.Errorf("register task %s.%s: %w", ref.service, ref.method, err)
	}
	impl.run = func(ctx TaskContext, raw json.RawMessage) (json.RawMessage, error) {
		in, err := decodeInput[I](raw)
		if err != nil {
			return nil, NonRetryable(err)
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return encodeValue(out)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tasks[ref.service] == nil {
		r.tasks[ref.service] = map[string]*taskImpl{}
	}
	if r.tasks[ref.service][ref.method] != nil {
		return fmt.Errorf("register task %s.%s: already registered", ref.service, ref.method)
	}
	r.tasks[ref.service][ref.method] = impl
	return nil
}

// WorkflowOption configures a workflow implementation version.
type WorkflowOption func(*workflowVersion)

// WithVersion sets the implementation version (default 0). New instances
// run the highest version; running ones stay on the version they started.
func WithVersion(v int) WorkflowOption { return func(w *workflowVersion) { w.version = v } }

// WithCheckMode sets how strictly replays must match history.
func WithCheckMode(m core.CheckMode) WorkflowOption {
	return func(w *workflowVersion) { w.checkMode, w.checkModeSet = m, true }
}

// WithWorkflowTaskTimeout bounds one replay of the workflow code.
func WithWorkflowTaskTimeout(d time.Duration) WorkflowOption {
	return func(w *workflowVersion) { w.taskTimeout, w.timeoutSet = d, true }
}

// RegisterWorkflow registers a workflow method implemented by a plain
// function (a workflow without properties).
func RegisterWorkflow[I, O any](r *Registry, ref WorkflowRef[I, O], fn func(Context, I) (O, error), opts ...WorkflowOption) error {
	if fn == nil {
		return fmt.Errorf("register workflow %s.%s: nil function", ref.workflow, ref.method)
	}
	return registerMethod[I, O](r, ref, nil, func(_ any, ctx Context, in I) (O, error) { return fn(ctx, in) }, opts)
}

// RegisterMethod registers a workflow method implemented on a properties
// type S. Every method run of an instance shares one *S: its exported
// fields are saved after each workflow task, and a method resuming after a
// step sees them as they were when that step ended (including changes made
// by other methods). All methods of one workflow version must use the same S.
func RegisterMethod[S, I, O any](r *Registry, ref WorkflowRef[I, O], fn func(*S, Context, I) (O, error), opts ...WorkflowOption) error {
	if fn == nil {
		return fmt.Errorf("register workflow %s.%s: nil function", ref.workflow, ref.method)
	}
	return registerMethod[I, O](r, ref, reflect.TypeFor[S](), func(inst any, ctx Context, in I) (O, error) { return fn(inst.(*S), ctx, in) }, opts)
}

func registerMethod[I, O any](r *Registry, ref WorkflowRef[I, O], inst reflect.Type, fn func(any, Context, I) (O, error), opts []WorkflowOption) error {
	if ref.workflow == "" || ref.method == "" {
		return fmt.Errorf("register workflow: workflow and method names are required")
	}
	v := &workflowVersion{checkMode: core.CheckSimple, taskTimeout: DefaultWorkflowTaskTimeout}
	for _, o := range opts {
		o(v)
	}
	if _, err := core.ParseCheckMode(string(v.checkMode)); err != nil {
		return fmt.Errorf("register workflow %s.%s: %w", ref.workflow, ref.method, err)
	}
	m := &workflowMethod{inType: reflect.TypeFor[I]()}
	m.run = func(instance any, ctx Context, raw json.RawMessage) (json.RawMessage, error) {
		in, err := decodeInput[I](raw)
		if err != nil {
			return nil, err
		}
		out, err := fn(instance, ctx, in)
		if err != nil {
			return nil, err
		}
		return encodeValue(out)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.workflows[ref.workflow]
	if w == nil {
		w = &workflowImpl{name: ref.workflow, versions: map[int]*workflowVersion{}}
		r.workflows[ref.workflow] = w
	}
	existing := w.versions[v.version]
	if existing == nil {
		v.instType = inst
		if inst != nil {
			v.newInstance = func() any { return reflect.New(inst).Interface() }
		}
		v.methods = map[string]*workflowMethod{}
		w.versions[v.version] = v
		existing = v
	} else if existing.instType != inst {
		return fmt.Errorf("register workflow %s.%s version %d: properties type %v differs from %v used by its other methods", ref.workflow, ref.method, v.version, inst, existing.instType)
	} else if err := existing.merge(v); err != nil {
		return fmt.Errorf("register workflow %s.%s version %d: %w", ref.workflow, ref.method, v.version, err)
	}
	if existing.methods[ref.method] != nil {
		return fmt.Errorf("register workflow %s.%s version %d: already registered", ref.workflow, ref.method, v.version)
	}
	existing.methods[ref.method] = m
	return nil
}

// merge applies the version-wide options of a later registration; options
// that contradict earlier ones are an error, not silently dropped.
func (w *workflowVersion) merge(o *workflowVersion) error {
	if o.checkModeSet {
		if w.checkModeSet && w.checkMode != o.checkMode {
			return fmt.Errorf("check mode %q contradicts %q given for another method of this version (options are version-wide)", o.checkMode, w.checkMode)
		}
		w.checkMode, w.checkModeSet = o.checkMode, true
	}
	if o.timeoutSet {
		if w.timeoutSet && w.taskTimeout != o.taskTimeout {
			return fmt.Errorf("workflow task timeout %s contradicts %s given for another method of this version (options are version-wide)", o.taskTimeout, w.taskTimeout)
		}
		w.taskTimeout, w.timeoutSet = o.taskTimeout, true
	}
	return nil
}

// MustRegister panics if err is not nil; for registrations in main or init.
func MustRegister(err error) {
	if err != nil {
		panic(err)
	}
}

func decodeInput[I any](raw json.RawMessage) (I, error) {
	var in I
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, &core.Error{Code: core.CodeBadInput, Message: fmt.Sprintf("input does not match %v: %v", reflect.TypeFor[I](), err)}
	}
	return in, nil
}

func encodeValue[O any](v O) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, NonRetryable(&core.Error{Code: core.CodeBadInput, Message: fmt.Sprintf("value of type %T does not encode to JSON: %v", v, err)})
	}
	return b, nil
}

// Services lists the registered service names, sorted.
func (r *Registry) Services() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.tasks))
	for s := range r.tasks {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Workflows lists the registered workflow names, sorted.
func (r *Registry) Workflows() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.workflows))
	for w := range r.workflows {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// HasWorkflow reports whether any version of workflow is registered.
func (r *Registry) HasWorkflow(workflow string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.workflows[workflow] != nil
}

// CheckWorkflowInput validates a dispatch against the latest registered
// version: the workflow and method must exist and the JSON input must
// decode into the method's input type. Clients call it before sending.
func (r *Registry) CheckWorkflowInput(workflow, method string, input json.RawMessage) error {
	r.mu.RLock()
	w := r.workflows[workflow]
	r.mu.RUnlock()
	if w == nil {
		return &core.Error{Code: core.CodeWorkflowUnknown, Workflow: workflow, Message: "workflow is not registered"}
	}
	v := w.latest()
	m := v.methods[method]
	if m == nil {
		return &core.Error{Code: core.CodeWorkflowUnknown, Workflow: workflow, Method: method, Message: "method is not registered"}
	}
	if len(input) == 0 {
		input = json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(m.inType).Interface()); err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, Method: method, Message: fmt.Sprintf("input does not match %v: %v", m.inType, err)}
	}
	return nil
}

func (w *workflowImpl) latest() *workflowVersion {
	keys := make([]int, 0, len(w.versions))
	for k := range w.versions {
		keys = append(keys, k)
	}
	return w.versions[slices.Max(keys)]
}

func (r *Registry) task(service, method string) *taskImpl {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tasks[service][method]
}

func (r *Registry) workflow(name string) *workflowImpl {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.workflows[name]
}

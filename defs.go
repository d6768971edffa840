package weft

import "time"

// TaskRef names a task: a method of a service, with typed input and output.
// Callers and implementers share it, so both sides agree on the types.
type TaskRef[I, O any] struct {
	service, method string
	timeout         time.Duration
}

// NewTask defines a task reference. WithTimeout sets the caller-side global
// timeout across all attempts (the task itself keeps running).
func NewTask[I, O any](service, method string, opts ...RefOption) TaskRef[I, O] {
	o := applyRef(opts)
	return TaskRef[I, O]{service: service, method: method, timeout: o.timeout}
}

// Service returns the service name.
func (r TaskRef[I, O]) Service() string { return r.service }

// Method returns the method name.
func (r TaskRef[I, O]) Method() string { return r.method }

// WorkflowRef names a workflow method with typed input and output.
type WorkflowRef[I, O any] struct {
	workflow, method string
	timeout          time.Duration
}

// NewWorkflow defines a workflow method reference. WithTimeout sets the
// caller-side method timeout (the callee keeps running).
func NewWorkflow[I, O any](workflow, method string, opts ...RefOption) WorkflowRef[I, O] {
	o := applyRef(opts)
	return WorkflowRef[I, O]{workflow: workflow, method: method, timeout: o.timeout}
}

// Workflow returns the workflow name.
func (r WorkflowRef[I, O]) Workflow() string { return r.workflow }

// Method returns the method name.
func (r WorkflowRef[I, O]) Method() string { return r.method }

// Timeout returns the caller-side timeout (0: none).
func (r WorkflowRef[I, O]) Timeout() time.Duration { return r.timeout }

// ChannelRef names a typed signal channel of a workflow.
type ChannelRef[T any] struct {
	workflow, name string
}

// NewChannel defines a channel reference.
func NewChannel[T any](workflow, name string) ChannelRef[T] {
	return ChannelRef[T]{workflow: workflow, name: name}
}

// Workflow returns the workflow name.
func (c ChannelRef[T]) Workflow() string { return c.workflow }

// Name returns the channel name.
func (c ChannelRef[T]) Name() string { return c.name }

// RefOption configures a reference.
type RefOption func(*refOptions)

type refOptions struct{ timeout time.Duration }

// WithTimeout sets a caller-side timeout on a reference.
func WithTimeout(d time.Duration) RefOption { return func(o *refOptions) { o.timeout = d } }

func applyRef(opts []RefOption) refOptions {
	var o refOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

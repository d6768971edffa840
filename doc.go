// Package weft is the public SDK of weft, durable workflows-as-code for Go.
//
// Definitions are typed references shared by callers and implementers:
// NewTask names a service method, NewWorkflow a workflow method and
// NewChannel a signal channel. Implementations are registered on a
// Registry. Inside a workflow, Dispatch and Call run tasks, DispatchChild
// and CallChild run child workflows, Timer and Sleep wait, Receive and Send
// exchange signals, Inline records side effects, and And / Or combine
// deferred results. Workflow code must be deterministic: it is replayed
// from its history after every step, and weft checks that it still issues
// the same commands in the same order.
package weft

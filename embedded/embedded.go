// Package embedded runs every weft role in one process, on in-memory
// transport and storage by default: the default for development, tests and
// examples. Given a real transport and store, the same process is a worker
// of a distributed deployment.
package embedded

import (
	"context"
	"log/slog"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// Options configure the embedded runtime; the zero value (plus a Registry)
// is ready to use.
type Options struct {
	// Concurrency is the number of lanes per role (default 8).
	Concurrency int
	// DisableFastPath routes workflow tasks through the broker instead of
	// running them inside the state engine.
	DisableFastPath bool
	// Store keeps workflow states (default: in memory). The caller keeps
	// ownership: Stop does not close it.
	Store storage.KeyValue
	// Tags keeps the ids of the instances carrying each tag (default: in
	// memory); the caller keeps ownership.
	Tags storage.KeySet
	// EventSink, when set, receives every lifecycle event (task and
	// workflow events, see core.EventKinds) at least once.
	EventSink functions.EventSink
	// Transport carries the messages between the roles (default: in
	// memory). The caller keeps ownership: Stop does not close it.
	Transport transport.Transport
	Logger    *slog.Logger
}

// Runtime is a running embedded weft.
type Runtime struct {
	rt *bootstrap.Runtime
}

// Start runs the roles for everything registered in reg.
func Start(ctx context.Context, reg *weft.Registry, o Options) (*Runtime, error) {
	rt, err := bootstrap.StartEmbedded(ctx, bootstrap.Embedded{Registry: reg, Concurrency: o.Concurrency,
		DisableFastPath: o.DisableFastPath, Store: o.Store, Tags: o.Tags, EventSink: o.EventSink, Transport: o.Transport, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	return &Runtime{rt: rt}, nil
}

// Client returns the runtime's client.
func (r *Runtime) Client() *client.Client { return r.rt.Client }

// Stop finishes in-flight work and releases everything.
func (r *Runtime) Stop() error { return r.rt.Stop() }

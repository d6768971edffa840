// Package bootstrap is the one place that turns configuration into concrete
// drivers (storage, transport) and runtimes (workers running the roles).
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/storage"
	storagememory "github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/transport"
	transportmemory "github.com/weftio/weft/transport/memory"
)

// Embedded configures a process that runs every role.
type Embedded struct {
	Registry *weft.Registry
	// Transport and Store default to the in-memory drivers.
	Transport transport.Transport
	Store     storage.KeyValue
	// Tags keeps the tag engine's id sets (default: in memory).
	Tags storage.KeySet
	// EventSink, when set, turns lifecycle events on and runs an event
	// listener handing them to it.
	EventSink functions.EventSink
	// Concurrency is the number of lanes per role (default 8).
	Concurrency int
	// FastPath runs workflow tasks inside the state engine (default on;
	// set DisableFastPath to route them through the broker).
	DisableFastPath bool
	Retention       time.Duration
	ShutdownGrace   time.Duration
	Logger          *slog.Logger
}

// Runtime is a running embedded process.
type Runtime struct {
	Client    *client.Client
	Transport transport.Transport
	Store     storage.KeyValue
	Tags      storage.KeySet

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errs    chan error
	ownsTr  bool
	ownsSt  bool
	ownsTag bool
	stopped sync.Once
	// sessions keeps the code of suspended method runs parked, for the
	// state engine's fast path and the executor.
	sessions *weft.Sessions
}

// StartEmbedded starts the state engine and executor workers and a client.
func StartEmbedded(ctx context.Context, cfg Embedded) (*Runtime, error) {
	if cfg.Registry == nil {
		return nil, errors.New("embedded: Registry is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	rt := &Runtime{Transport: cfg.Transport, Store: cfg.Store, Tags: cfg.Tags, errs: make(chan error, 4), sessions: cfg.Registry.NewSessions(0)}
	if rt.Transport == nil {
		rt.Transport, rt.ownsTr = transportmemory.New(transportmemory.WithLogger(cfg.Logger)), true
	}
	if rt.Store == nil {
		rt.Store, rt.ownsSt = storagememory.New(), true
	}
	if rt.Tags == nil {
		rt.Tags, rt.ownsTag = storagememory.New(), true
	}
	var fns []functions.Function
	if wfs := cfg.Registry.Workflows(); len(wfs) > 0 {
		var local functions.WorkflowRunner
		var localTasks functions.TaskRunner
		if !cfg.DisableFastPath {
			local, localTasks = rt.sessions, cfg.Registry
		}
		var serves func(string) bool
		if rt.ownsTr {
			// Nothing but this runtime reads its transport: a task of a
			// service not registered here would wait forever.
			services := map[string]bool{}
			for _, s := range cfg.Registry.Services() {
				services[s] = true
			}
			serves = func(s string) bool { return services[s] }
		}
		eng, err := functions.NewStateEngine(functions.StateEngineConfig{Workflows: wfs, Store: rt.Store, Local: local, LocalTasks: localTasks, Events: cfg.EventSink != nil,
			MaxMessageSize: rt.Transport.Capabilities().MaxMessageSize, HistoryByReference: true,
			Retention: cfg.Retention, Logger: cfg.Logger, Serves: serves})
		if err != nil {
			return nil, err
		}
		fns = append(fns, eng)
	}
	if wfs, svcs := cfg.Registry.Workflows(), cfg.Registry.Services(); len(wfs)+len(svcs) > 0 {
		tags, err := functions.NewTagEngine(functions.TagEngineConfig{Workflows: wfs, Services: svcs, Tags: rt.Tags, Store: rt.Store,
			Retention: cfg.Retention, Events: cfg.EventSink != nil, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		fns = append(fns, tags)
	}
	ex, err := functions.NewExecutor(functions.ExecutorConfig{Registry: cfg.Registry, Logger: cfg.Logger, Events: cfg.EventSink != nil,
		MaxMessageSize: rt.Transport.Capabilities().MaxMessageSize, Runner: rt.sessions, Store: rt.Store})
	if err != nil {
		return nil, err
	}
	fns = append(fns, ex)
	if cfg.EventSink != nil {
		l, err := functions.NewEventListener(functions.EventListenerConfig{Workflows: cfg.Registry.Workflows(),
			Services: cfg.Registry.Services(), Sink: cfg.EventSink})
		if err != nil {
			return nil, err
		}
		fns = append(fns, l)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt.cancel = cancel
	for _, fn := range fns {
		w, err := worker.New(rt.Transport, fn, worker.Config{Concurrency: cfg.Concurrency, ShutdownGrace: cfg.ShutdownGrace,
			Logger: cfg.Logger.With("role", fn.Name())})
		if err != nil {
			cancel()
			return nil, err
		}
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			if err := w.Run(runCtx); err != nil {
				rt.errs <- fmt.Errorf("%s worker: %w", fn.Name(), err)
			}
		}()
		select {
		case <-w.Ready():
		case err := <-rt.errs:
			cancel()
			rt.wg.Wait()
			return nil, err
		case <-ctx.Done():
			cancel()
			rt.wg.Wait()
			return nil, ctx.Err()
		}
	}
	c, err := client.New(ctx, client.Config{Transport: rt.Transport, Store: rt.Store, Tags: rt.Tags, Registry: cfg.Registry, Logger: cfg.Logger})
	if err != nil {
		cancel()
		rt.wg.Wait()
		return nil, err
	}
	rt.Client = c
	return rt, nil
}

// Stop closes the client, lets the workers finish in-flight messages and
// closes the drivers the runtime created.
func (rt *Runtime) Stop() error {
	var errs []error
	rt.stopped.Do(func() {
		errs = append(errs, rt.Client.Close())
		rt.cancel()
		rt.wg.Wait()
		rt.sessions.Close()
		close(rt.errs)
		for err := range rt.errs {
			errs = append(errs, err)
		}
		if rt.ownsTr {
			errs = append(errs, rt.Transport.Close())
		}
		if rt.ownsSt {
			errs = append(errs, rt.Store.Close())
		}
		if rt.ownsTag {
			errs = append(errs, rt.Tags.Close())
		}
	})
	return errors.Join(errs...)
}

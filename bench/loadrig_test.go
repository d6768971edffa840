package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
	transportmemory "github.com/weftio/weft/transport/memory"
)

// fault is what a load run does to its roles halfway through.
type fault string

const (
	// noFault leaves the roles alone; with a state cache smaller than the
	// number of instances in flight, most messages still miss it.
	noFault fault = "none"
	// restartFault stops the state engine and the executor gracefully
	// (in-flight messages finish and are acknowledged) and starts new
	// ones, with empty state caches and no parked sessions: a redeploy.
	restartFault fault = "restart"
	// killFault stops them with no grace period (in-flight handlers are
	// cancelled and their messages left unsettled, to be delivered again)
	// and starts new ones: a crash, short of killing the process.
	killFault fault = "kill"
)

// rigConfig selects the backends, the fault and the tuning of a loadRig.
type rigConfig struct {
	transport, storage string // as WEFT_TRANSPORT and WEFT_STORAGE
	fault              fault
	// stateCache is the state engine's CacheSize (negative: no cache, so
	// every message misses it).
	stateCache int
	// concurrency is the number of lanes of every role's worker.
	concurrency int
}

func (c rigConfig) name() string { return c.transport + "+" + c.storage }

// grace is the shutdown grace of the workers the fault stops.
func (c rigConfig) grace() time.Duration {
	if c.fault == killFault {
		return time.Nanosecond
	}
	return worker.DefaultShutdownGrace
}

// loadRig runs the roles as separate components, the way the role binaries
// of a deployment run them: a state engine without workflow code (so every
// workflow task goes through the broker), an executor running tasks and
// workflow tasks, and a tag engine, each on a worker of its own over one
// transport and one store, plus a client. The fault replaces the state
// engine and the executor.
type loadRig struct {
	cfg   rigConfig
	rec   *recorder
	reg   *weft.Registry
	tr    transport.Transport
	kv    storage.KeyValue
	ks    storage.KeySet
	c     *client.Client
	warns *warnCounter
	log   *slog.Logger

	// roles are the running workers, in start order; engine and executor
	// index the ones the fault replaces.
	mu               sync.Mutex
	roles            []*runningRole
	engine, executor int
	engines          []*functions.StateEngine
	closers          []func() error
	runs             int
}

// runningRole is one role's worker, running until stop.
type runningRole struct {
	name    string
	cancel  context.CancelFunc
	done    chan error
	release func() // after the worker stopped, if set
	stopped bool
}

func (r *runningRole) stop() error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	r.cancel()
	err := <-r.done
	if r.release != nil {
		r.release()
	}
	if err != nil {
		return fmt.Errorf("%s worker: %w", r.name, err)
	}
	return nil
}

// newLoadRig opens the backends of cfg, each in a namespace of its own on
// the test services (skipping t, or failing it when integration tests are
// required, when their URLs are missing), and starts the roles.
func newLoadRig(ctx context.Context, t testing.TB, cfg rigConfig) (*loadRig, error) {
	r := &loadRig{cfg: cfg, rec: newRecorder(), warns: &warnCounter{}}
	r.log = slog.New(r.warns)
	r.reg = registry(r.rec)
	env := testenv.Settings(t, cfg.storage, cfg.transport, "load_"+testenv.Suffix())
	conf, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		return nil, err
	}
	stores, err := bootstrap.OpenStorage(ctx, conf)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, stores.Close)
	r.kv, r.ks = stores.KeyValue, stores.KeySet
	if cfg.transport == "memory" {
		// Without deduplication by envelope id, which no real broker of
		// weft's does by default, so that the memory transport hides no
		// duplicate publication of the engine's.
		r.tr = transportmemory.New(transportmemory.WithDedupWindow(0), transportmemory.WithLogger(r.log))
	} else if r.tr, err = bootstrap.OpenTransport(ctx, conf, r.log); err != nil {
		return nil, errors.Join(err, r.close())
	}
	r.closers = append(r.closers, r.tr.Close)
	if err := r.startTagEngine(ctx); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if r.engine, err = r.startEngine(ctx); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if r.executor, err = r.startExecutor(ctx); err != nil {
		return nil, errors.Join(err, r.close())
	}
	if r.c, err = client.New(ctx, client.Config{Transport: r.tr, Store: r.kv, Tags: r.ks, Registry: r.reg, Logger: r.log}); err != nil {
		return nil, errors.Join(err, r.close())
	}
	return r, nil
}

// start runs fn on a worker of its own and returns its index in r.roles.
func (r *loadRig) start(ctx context.Context, fn functions.Function, grace time.Duration, release func()) (int, error) {
	w, err := worker.New(r.tr, fn, worker.Config{Concurrency: r.cfg.concurrency, ShutdownGrace: grace, Logger: r.log.With("role", fn.Name())})
	if err != nil {
		return 0, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	role := &runningRole{name: fn.Name(), cancel: cancel, done: make(chan error, 1), release: release}
	go func() { role.done <- w.Run(runCtx) }()
	select {
	case <-w.Ready():
	case <-ctx.Done():
		return 0, errors.Join(ctx.Err(), role.stop())
	case err := <-role.done:
		role.done <- err
		return 0, role.stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roles = append(r.roles, role)
	return len(r.roles) - 1, nil
}

func (r *loadRig) startTagEngine(ctx context.Context) error {
	tags, err := functions.NewTagEngine(functions.TagEngineConfig{Workflows: r.reg.Workflows(), Services: r.reg.Services(),
		Tags: r.ks, Store: r.kv, Logger: r.log})
	if err != nil {
		return err
	}
	_, err = r.start(ctx, tags, worker.DefaultShutdownGrace, nil)
	return err
}

// startEngine starts a state engine, with an empty state cache.
func (r *loadRig) startEngine(ctx context.Context) (int, error) {
	eng, err := functions.NewStateEngine(functions.StateEngineConfig{Workflows: r.reg.Workflows(), Store: r.kv,
		CacheSize: r.cfg.stateCache, MaxMessageSize: r.tr.Capabilities().MaxMessageSize, HistoryByReference: true, Logger: r.log})
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.engines = append(r.engines, eng)
	r.mu.Unlock()
	return r.start(ctx, eng, r.cfg.grace(), nil)
}

// startExecutor starts an executor, with no parked sessions.
func (r *loadRig) startExecutor(ctx context.Context) (int, error) {
	sessions := r.reg.NewSessions(0)
	ex, err := functions.NewExecutor(functions.ExecutorConfig{Registry: r.reg, Runner: sessions, Store: r.kv,
		MaxMessageSize: r.tr.Capabilities().MaxMessageSize, Logger: r.log})
	if err != nil {
		sessions.Close()
		return 0, err
	}
	i, err := r.start(ctx, ex, r.cfg.grace(), sessions.Close)
	if err != nil {
		sessions.Close()
	}
	return i, err
}

// replace stops the state engine and the executor as r's fault says and
// starts new ones.
func (r *loadRig) replace(ctx context.Context) error {
	r.mu.Lock()
	engine, executor := r.roles[r.engine], r.roles[r.executor]
	r.mu.Unlock()
	if err := errors.Join(engine.stop(), executor.stop()); err != nil {
		return err
	}
	var err error
	if r.engine, err = r.startEngine(ctx); err != nil {
		return err
	}
	r.executor, err = r.startExecutor(ctx)
	return err
}

// drops sums what the rig's state engines had nothing to act on.
func (r *loadRig) drops() functions.Drops {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d functions.Drops
	for _, e := range r.engines {
		d.NoInstance += e.Drops().NoInstance
		d.Ended += e.Drops().Ended
	}
	return d
}

// close stops the client and the roles and closes the drivers.
func (r *loadRig) close() error {
	var errs []error
	if r.c != nil {
		errs = append(errs, r.c.Close())
	}
	r.mu.Lock()
	roles := r.roles
	r.mu.Unlock()
	for i := len(roles) - 1; i >= 0; i-- {
		errs = append(errs, roles[i].stop())
	}
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i]())
	}
	r.closers = nil
	return errors.Join(errs...)
}

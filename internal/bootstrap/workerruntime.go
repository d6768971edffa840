package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/adapters/worker"
)

// workerRuntime runs every function as a long-running consumer of the
// configured transport.
var workerRuntime = Launcher{
	Name: "worker",
	Setup: func(args []string) (Platform, error) {
		if len(args) > 0 {
			return nil, fmt.Errorf("the worker runtime takes no arguments, got %q", args)
		}
		return workerPlatform{}, nil
	},
}

type workerPlatform struct{}

func (workerPlatform) Lookup(string) (string, bool) { return "", false }
func (workerPlatform) Keys() []string               { return nil }

// Run starts one worker per function, in order, each ready before the
// next, and stops them all when ctx ends or one fails. With
// WEFT_WORKER_HEALTH_ADDR it serves the probes meanwhile.
func (workerPlatform) Run(ctx context.Context, p *Running) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ready atomic.Bool
	if addr := p.Config.Worker.HealthAddr; addr != "" {
		stop, err := serveHealth(addr, &ready, p.Check, p.Logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(p.Functions))
	for _, fn := range p.Functions {
		w, err := worker.New(p.Transport, fn, worker.Config{Concurrency: p.Config.Worker.Concurrency,
			ShutdownGrace: p.Config.Worker.ShutdownGrace, Logger: p.Logger.With("role", fn.Name())})
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		wg.Go(func() {
			if err := w.Run(runCtx); err != nil {
				errs <- fmt.Errorf("%s worker: %w", fn.Name(), err)
				cancel()
			}
		})
		select {
		case <-w.Ready():
		case <-runCtx.Done():
		}
	}
	if runCtx.Err() == nil {
		ready.Store(true)
		if p.Ready != nil {
			p.Ready()
		}
	}
	<-runCtx.Done()
	ready.Store(false) // draining: no longer ready
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// serveHealth serves /health/live (200 while the process runs) and
// /health/ready (200 once every worker takes messages, while the storage
// and the transport answer; 503 once a shutdown starts) on addr.
func serveHealth(addr string, ready *atomic.Bool, check func(context.Context) error, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("WEFT_WORKER_HEALTH_ADDR: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not taking messages (starting or shutting down)", http.StatusServiceUnavailable)
			return
		}
		if check != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := check(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Warn("health server stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

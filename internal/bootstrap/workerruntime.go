package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
// next, and stops them all when ctx ends or one fails.
func (workerPlatform) Run(ctx context.Context, p *Running) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	if runCtx.Err() == nil && p.Ready != nil {
		p.Ready()
	}
	<-runCtx.Done()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

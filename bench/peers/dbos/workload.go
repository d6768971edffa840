package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dbos-inc/dbos-transact-golang/dbos"
	"github.com/jackc/pgx/v5"
)

// input names a workflow of a batch: the step functions record their
// start times in that batch's trace.
type input struct {
	Batch int `json:"b"`
	Index int `json:"i"`
}

// trace holds, per workflow of a batch, when each of its steps started
// (unix nanos of the first start).
type trace struct{ starts [][]atomic.Int64 }

// workload is the registered workflow and the traces of its batches.
type workload struct {
	steps int
	mu    sync.RWMutex
	runs  []*trace
}

// sequence is the workflow: w.steps steps in a row, each returning its
// input + 1, so the result is w.steps.
func (w *workload) sequence(ctx dbos.Context, in input) (int, error) {
	w.mu.RLock()
	tr := w.runs[in.Batch]
	w.mu.RUnlock()
	n := 0
	for s := range w.steps {
		v, err := dbos.RunAsStep(ctx, func(context.Context) (int, error) {
			tr.starts[in.Index][s].CompareAndSwap(0, time.Now().UnixNano())
			return n + 1, nil
		}, dbos.WithStepName("incr"))
		if err != nil {
			return 0, err
		}
		n = v
	}
	return n, nil
}

// batchResult is what one batch measured.
type batchResult struct {
	wall      time.Duration
	cpu       time.Duration
	steps     []time.Duration // step start to the next step's start
	workflows []time.Duration // RunWorkflow to GetResult's return
}

// batch runs total workflows, inflight at a time (a closed loop: each
// driver starts the next workflow when its last one returned).
func (w *workload) batch(ctx dbos.Context, total, inflight int) (batchResult, error) {
	tr := &trace{starts: make([][]atomic.Int64, total)}
	for i := range tr.starts {
		tr.starts[i] = make([]atomic.Int64, w.steps)
	}
	w.mu.Lock()
	b := len(w.runs)
	w.runs = append(w.runs, tr)
	w.mu.Unlock()

	var (
		r       = batchResult{workflows: make([]time.Duration, total)}
		next    atomic.Int64
		drivers sync.WaitGroup
		errOnce sync.Once
		failure error
	)
	fail := func(err error) { errOnce.Do(func() { failure = err }) }
	cpu0 := processCPU()
	start := time.Now()
	for range min(inflight, total) {
		drivers.Go(func() {
			for i := int(next.Add(1) - 1); i < total; i = int(next.Add(1) - 1) {
				t0 := time.Now()
				h, err := dbos.RunWorkflow(ctx, w.sequence, input{Batch: b, Index: i})
				if err != nil {
					fail(fmt.Errorf("start workflow %d: %w", i, err))
					return
				}
				got, err := h.GetResult()
				r.workflows[i] = time.Since(t0)
				switch {
				case err != nil:
					fail(fmt.Errorf("workflow %d: %w", i, err))
					return
				case got != w.steps:
					fail(fmt.Errorf("workflow %d returned %d, want %d", i, got, w.steps))
					return
				}
			}
		})
	}
	drivers.Wait()
	r.wall = time.Since(start)
	r.cpu = processCPU() - cpu0
	if failure != nil {
		return r, failure
	}
	r.steps = make([]time.Duration, 0, total*(w.steps-1))
	for i := range tr.starts {
		for s := 1; s < w.steps; s++ {
			r.steps = append(r.steps, time.Duration(tr.starts[i][s].Load()-tr.starts[i][s-1].Load()))
		}
	}
	slices.Sort(r.steps)
	slices.Sort(r.workflows)
	return r, nil
}

// run launches DBOS on its own schema, runs the warm-up, the measured
// batch and the lone workflows, and drops the schema.
func run(ctx context.Context, o options) (f figures, err error) {
	if err := o.check(); err != nil {
		return f, err
	}
	sysURL, err := o.systemURL()
	if err != nil {
		return f, err
	}
	dctx, err := dbos.NewContext(ctx, dbos.Config{
		AppName:        "weft-peers",
		DatabaseURL:    sysURL,
		DatabaseSchema: o.schema,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return f, fmt.Errorf("new DBOS context: %w", err)
	}
	if !o.keep {
		defer func() {
			if derr := dropSchema(context.WithoutCancel(ctx), sysURL, o.schema); derr != nil && err == nil {
				err = derr
			}
		}()
	}
	w := &workload{steps: o.steps}
	dbos.RegisterWorkflow(dctx, w.sequence, dbos.WithWorkflowName("PeersSequence"))
	if err := dbos.Launch(dctx); err != nil {
		return f, fmt.Errorf("launch DBOS: %w", err)
	}
	defer func() {
		if serr := dbos.Shutdown(dctx, 10*time.Second); serr != nil && err == nil {
			err = fmt.Errorf("shut DBOS down: %w", serr)
		}
	}()

	if o.warmup > 0 {
		if _, err := w.batch(dctx, o.warmup, o.inflight); err != nil {
			return f, fmt.Errorf("warm-up: %w", err)
		}
	}
	m, err := w.batch(dctx, o.workflows, o.inflight)
	if err != nil {
		return f, err
	}
	var singles []time.Duration
	for range o.single {
		s, err := w.batch(dctx, 1, 1)
		if err != nil {
			return f, fmt.Errorf("lone workflow: %w", err)
		}
		singles = append(singles, s.wall)
	}
	slices.Sort(singles)
	return newFigures(o, m, singles), nil
}

// dropSchema removes the schema the run created.
func dropSchema(ctx context.Context, sysURL, schema string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, sysURL)
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	return nil
}

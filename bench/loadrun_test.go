package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/client"
)

// loadResult is what one load run found.
type loadResult struct {
	workflows int
	wall      time.Duration
	failed    int   // workflows that failed or could not be dispatched
	wrong     int   // workflows that returned a wrong value
	firstErr  error // the first failure, for the report
	tasks     int   // task executions, repeats included
	missing   int   // steps never executed
	// reexecuted counts the steps executed more than once, extra the
	// executions beyond the first of each step.
	reexecuted, extra int
	// beforeFault counts the steps executed more than once whose every
	// execution started before the fault was injected: a fault cannot
	// have caused those.
	beforeFault int
	stray       int64 // executions of steps no workflow of the run has
	faultAt     int64 // task executions before the fault was injected
	faultStart  time.Time
}

// reexecutedPercent is the share of steps executed more than once.
func (l loadResult) reexecutedPercent() float64 {
	return 100 * float64(l.reexecuted) / float64(max(l.workflows*stepsPerWorkflow, 1))
}

func (l loadResult) String() string {
	s := fmt.Sprintf("%d workflows in %v (%.0f workflows/s): %d task executions, %d steps re-executed (%.3f %%, %d extra executions), %d missing, %d failed, %d wrong",
		l.workflows, l.wall.Round(time.Millisecond), float64(l.workflows)/l.wall.Seconds(), l.tasks, l.reexecuted, l.reexecutedPercent(), l.extra, l.missing, l.failed, l.wrong)
	if l.faultAt > 0 {
		s += fmt.Sprintf("; fault injected after %d task executions, %d steps re-executed before it", l.faultAt, l.beforeFault)
	}
	if l.firstErr != nil {
		s += fmt.Sprintf("; first error: %v", l.firstErr)
	}
	return s
}

// dispatchers bounds the dispatches sent at once; the workflows dispatched
// all stay in flight together.
const dispatchers = 64

// run dispatches n workflows, all in flight at once, waits for every one,
// and counts how often each of their steps was executed. Halfway through
// (when half of the steps have started) it injects the rig's fault.
func (r *loadRig) run(ctx context.Context, n int) loadResult {
	r.runs++
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("load-%d-%d", r.runs, i)
		r.rec.add(ids[i])
	}
	res := loadResult{workflows: n}
	var (
		failed, wrong atomic.Int64
		errOnce       sync.Once
		fail          = func(err error) { failed.Add(1); errOnce.Do(func() { res.firstErr = err }) }
		next          atomic.Int64
		dispatching   sync.WaitGroup
		awaiting      sync.WaitGroup
		injected      = make(chan error, 1)
		steps0        = r.rec.steps.Load()
	)
	faultCtx, stopFault := context.WithCancel(ctx)
	defer stopFault()
	go func() { injected <- r.inject(faultCtx, steps0+int64(n*stepsPerWorkflow/2), &res) }()
	start := time.Now()
	for range min(dispatchers, n) {
		dispatching.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				h, err := client.Dispatch(ctx, r.c, seq, 0, client.WithID(ids[i]))
				if err != nil {
					fail(fmt.Errorf("dispatch %s: %w", ids[i], err))
					continue
				}
				awaiting.Go(func() {
					switch got, err := h.Await(ctx); {
					case err != nil:
						fail(fmt.Errorf("await %s: %w", ids[i], err))
					case got != stepsPerWorkflow:
						wrong.Add(1)
					}
				})
			}
		})
	}
	dispatching.Wait()
	awaiting.Wait()
	res.wall = time.Since(start)
	stopFault()
	if err := <-injected; err != nil {
		fail(fmt.Errorf("inject fault %s: %w", r.cfg.fault, err))
	}
	res.failed, res.wrong = int(failed.Load()), int(wrong.Load())
	res.stray = r.rec.stray.Load()
	r.rec.mu.RLock()
	defer r.rec.mu.RUnlock()
	for _, id := range ids {
		tr := r.rec.traces[id]
		for s := range stepsPerWorkflow {
			runs := int(tr.runs[s].Load())
			res.tasks += runs
			switch {
			case runs == 0:
				res.missing++
			case runs > 1:
				res.reexecuted++
				res.extra += runs - 1
				if !res.faultStart.IsZero() && tr.lasts[s].Load() < res.faultStart.UnixNano() {
					res.beforeFault++
				}
			}
		}
	}
	return res
}

// inject waits until the recorder has counted at steps task executions,
// then replaces the roles as the rig's fault says, recording in res when
// and after how many executions. It returns nil at once without a fault,
// and when ctx ends first (the run ended before reaching at).
func (r *loadRig) inject(ctx context.Context, at int64, res *loadResult) error {
	if r.cfg.fault == noFault {
		return nil
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for r.rec.steps.Load() < at {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	res.faultStart, res.faultAt = time.Now(), r.rec.steps.Load()
	return r.replace(ctx)
}

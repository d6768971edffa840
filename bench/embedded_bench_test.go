package bench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

// stepsPerWorkflow is how many tasks one workflow instance calls in a row.
const stepsPerWorkflow = 10

var workflowsPerIter = flag.Int("bench.workflows", 3000,
	"workflows run per benchmark iteration (each runs "+fmt.Sprint(stepsPerWorkflow)+" task steps)")

var (
	incr = weft.NewTask[int, int]("Bench", "incr")
	seq  = weft.NewWorkflow[int, int]("BenchSeq", "run")
)

// trace is the record of one workflow instance: when each of its steps
// started. A task with input n is step n.
type trace struct {
	starts [stepsPerWorkflow]atomic.Int64 // unix nanos of the first start
	lasts  [stepsPerWorkflow]atomic.Int64 // unix nanos of the latest start
	runs   [stepsPerWorkflow]atomic.Int32 // how often each step started
}

// recorder collects step start times keyed by workflow id. Ids are added
// before their workflow is dispatched, so tasks only read the map.
type recorder struct {
	mu     sync.RWMutex
	traces map[string]*trace
	steps  atomic.Int64 // every task start, recorded or not
	stray  atomic.Int64 // starts of unknown workflows or out-of-range steps
}

func newRecorder() *recorder { return &recorder{traces: map[string]*trace{}} }

func (r *recorder) add(id string) {
	r.mu.Lock()
	r.traces[id] = &trace{}
	r.mu.Unlock()
}

func (r *recorder) mark(id string, step int, at time.Time) {
	r.steps.Add(1)
	r.mu.RLock()
	tr := r.traces[id]
	r.mu.RUnlock()
	if tr == nil || step < 0 || step >= stepsPerWorkflow {
		r.stray.Add(1)
		return
	}
	if tr.runs[step].Add(1) == 1 {
		tr.starts[step].Store(at.UnixNano())
	}
	tr.lasts[step].Store(at.UnixNano())
}

// registry builds the benchmark's code: a task returning n+1 that records
// its start, and a workflow calling it stepsPerWorkflow times in a row.
func registry(rec *recorder, taskOpts ...weft.TaskOption) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, incr, func(tc weft.TaskContext, n int) (int, error) {
		rec.mark(tc.Info().WorkflowID, n, time.Now())
		return n + 1, nil
	}, taskOpts...))
	weft.MustRegister(weft.RegisterWorkflow(reg, seq, func(ctx weft.Context, n int) (int, error) {
		for range stepsPerWorkflow {
			v, err := weft.Call(ctx, incr, n)
			if err != nil {
				return 0, err
			}
			n = v
		}
		return n, nil
	}))
	return reg
}

// harness is one embedded runtime with its recorder.
type harness struct {
	rt    *embedded.Runtime
	rec   *recorder
	warns *warnCounter
	runs  atomic.Int64 // names batches so workflow ids never repeat
}

func newHarness(ctx context.Context, fastPath bool) (*harness, error) {
	return newHarnessWith(ctx, embedded.Options{DisableFastPath: !fastPath})
}

// newHarnessWith starts the runtime with o (its logger is replaced), the
// task registered with taskOpts.
func newHarnessWith(ctx context.Context, o embedded.Options, taskOpts ...weft.TaskOption) (*harness, error) {
	rec, warns := newRecorder(), &warnCounter{}
	o.Logger = slog.New(warns)
	rt, err := embedded.Start(ctx, registry(rec, taskOpts...), o)
	if err != nil {
		return nil, err
	}
	return &harness{rt: rt, rec: rec, warns: warns}, nil
}

// warnCounter is a slog handler that counts the runtime's warnings and
// errors (retries, dead letters, conflicts): a healthy run has none, and a
// run that has some is not measuring the happy path.
type warnCounter struct {
	n     atomic.Int64
	mu    sync.Mutex
	first []string
}

func (w *warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	if w.n.Add(1) > 5 {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	w.mu.Lock()
	w.first = append(w.first, b.String())
	w.mu.Unlock()
	return nil
}

func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }

func (w *warnCounter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d warnings: %s", w.n.Load(), strings.Join(w.first, "; "))
}

func (h *harness) stop() error { return h.rt.Stop() }

// batch is the outcome of one load run.
type batch struct {
	ids       []string
	wall      time.Duration
	failed    int   // workflows that returned an error
	wrong     int   // workflows that returned a wrong value
	firstErr  error // the first error, for the report
	intervals []time.Duration
	workflows []time.Duration // per workflow, from client.Run's call to its return
	missing   int             // steps never recorded
	repeated  int             // steps recorded more than once
}

// run executes total workflows with at most inflight of them running at
// once: inflight drivers each run one workflow after another (a closed
// loop), so the runtime always has inflight instances to work on.
func (h *harness) run(ctx context.Context, total, inflight int) batch {
	n := h.runs.Add(1)
	b := batch{ids: make([]string, total), workflows: make([]time.Duration, total)}
	for i := range b.ids {
		b.ids[i] = fmt.Sprintf("bench-%d-%d", n, i)
		h.rec.add(b.ids[i])
	}
	var (
		next         atomic.Int64
		failed, bad  atomic.Int64
		errOnce      sync.Once
		drivers      sync.WaitGroup
		c            = h.rt.Client()
		inflightUsed = min(inflight, total)
	)
	start := time.Now()
	for range inflightUsed {
		drivers.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				t0 := time.Now()
				got, err := client.Run(ctx, c, seq, 0, client.WithID(b.ids[i]))
				b.workflows[i] = time.Since(t0)
				switch {
				case err != nil:
					failed.Add(1)
					errOnce.Do(func() { b.firstErr = err })
				case got != stepsPerWorkflow:
					bad.Add(1)
				}
			}
		})
	}
	drivers.Wait()
	b.wall = time.Since(start)
	b.failed, b.wrong = int(failed.Load()), int(bad.Load())

	h.rec.mu.RLock()
	defer h.rec.mu.RUnlock()
	b.intervals = make([]time.Duration, 0, total*(stepsPerWorkflow-1))
	for _, id := range b.ids {
		tr := h.rec.traces[id]
		for s := range stepsPerWorkflow {
			switch r := tr.runs[s].Load(); {
			case r == 0:
				b.missing++
			case r > 1:
				b.repeated++
			}
			if s > 0 && tr.runs[s].Load() > 0 && tr.runs[s-1].Load() > 0 {
				b.intervals = append(b.intervals, time.Duration(tr.starts[s].Load()-tr.starts[s-1].Load()))
			}
		}
	}
	return b
}

// measurement is what measure found over b.N runs.
type measurement struct {
	rate      float64 // steps per second
	p50, p99  time.Duration
	steps     int
	cpu, wall time.Duration
}

// measure runs total workflows inflight at a time b.N times (timed), fails
// the benchmark on any wrong outcome, and reports steps/s and the step
// latency percentiles.
func (h *harness) measure(ctx context.Context, b *testing.B, total, inflight int) measurement {
	var (
		m         measurement
		intervals []time.Duration
	)
	b.ResetTimer()
	for range b.N {
		cpu0, cpuOK := processCPU()
		r := h.run(ctx, total, inflight)
		if cpu1, ok := processCPU(); ok && cpuOK {
			m.cpu += cpu1 - cpu0
		}
		if r.failed > 0 || r.wrong > 0 {
			b.Fatalf("%d workflows failed, %d returned a wrong value; first error: %v", r.failed, r.wrong, r.firstErr)
		}
		m.wall += r.wall
		m.steps += total*stepsPerWorkflow - r.missing
		intervals = append(intervals, r.intervals...)
	}
	b.StopTimer()
	slices.Sort(intervals)
	m.rate = float64(m.steps) / m.wall.Seconds()
	m.p50, m.p99 = percentile(intervals, 50), percentile(intervals, 99)
	b.ReportMetric(m.rate, "steps/s")
	b.ReportMetric(ms(m.p50), "p50-ms")
	b.ReportMetric(ms(m.p99), "p99-ms")
	return m
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted values by
// the nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkEmbeddedSequential10 runs workflows of ten sequential trivial
// tasks on the embedded runtime, with 100 or 1000 instances in flight and
// the state engine's fast path on or off. Every iteration runs the same
// fixed number of workflows (-bench.workflows), so -benchtime=1x gives
// meaningful numbers.
func BenchmarkEmbeddedSequential10(b *testing.B) {
	for _, instances := range []int{100, 1000} {
		for _, fast := range []bool{true, false} {
			name := fmt.Sprintf("instances=%d/fastpath=%s", instances, map[bool]string{true: "on", false: "off"}[fast])
			b.Run(name, func(b *testing.B) { benchSequential(b, instances, fast, false) })
		}
		// The task registered with weft.Local: it runs in the state
		// engine's process, its results written with the state.
		b.Run(fmt.Sprintf("instances=%d/local-tasks", instances), func(b *testing.B) { benchSequential(b, instances, true, true) })
	}
}

func benchSequential(b *testing.B, instances int, fast, local bool) {
	total := max(*workflowsPerIter, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var taskOpts []weft.TaskOption
	if local {
		taskOpts = append(taskOpts, weft.Local())
	}
	h, err := newHarnessWith(ctx, embedded.Options{DisableFastPath: !fast}, taskOpts...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := h.stop(); err != nil {
			b.Error(err)
		}
	}()
	// Warm up: create the topics, groups and lanes, grow the buffers and
	// the heap, so the first sub-benchmark of a process is not penalised.
	if w := h.run(ctx, min(max(instances, total/3), total), instances); w.failed > 0 {
		b.Fatalf("warm-up: %d workflows failed: %v", w.failed, w.firstErr)
	}

	m := h.measure(ctx, b, total, instances)
	rate, p50, p99, steps, cpu, wall := m.rate, m.p50, m.p99, m.steps, m.cpu, m.wall
	// CPU time per step is far less sensitive than steps/s to whatever
	// else runs on the machine; compare it across changes.
	cpuPerStep := float64(cpu) / float64(time.Microsecond) / float64(max(steps, 1))
	if cpu > 0 {
		b.ReportMetric(cpuPerStep, "cpu-us/step")
	}
	b.Logf("%s: %.0f steps/s, step p50 %.2f ms, p99 %.2f ms, %.1f µs CPU/step; %d instances in flight, %d steps in %d workflows, wall %v",
		b.Name(), rate, ms(p50), ms(p99), cpuPerStep, instances, steps, total*b.N, wall.Round(time.Millisecond))
	if h.warns.n.Load() > 0 {
		b.Logf("the runtime logged %v", h.warns)
	}
}

// TestHarnessCounts checks the harness on a small load: every workflow
// returns the right value and every step is recorded exactly once. It says
// nothing about speed.
func TestHarnessCounts(t *testing.T) {
	const instances = 20
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fastpath=%t", fast), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			h, err := newHarness(ctx, fast)
			if err != nil {
				t.Fatal(err)
			}
			// Two batches: the second must not see the first's workflows.
			for round := range 2 {
				before := h.rec.steps.Load()
				r := h.run(ctx, instances, instances)
				if r.failed > 0 || r.wrong > 0 {
					t.Fatalf("round %d: %d workflows failed, %d returned a wrong value; first error: %v", round, r.failed, r.wrong, r.firstErr)
				}
				if got, want := h.rec.steps.Load()-before, int64(instances*stepsPerWorkflow); got != want {
					t.Errorf("round %d: %d task steps ran, want %d", round, got, want)
				}
				if r.missing != 0 || r.repeated != 0 {
					t.Errorf("round %d: %d steps missing, %d run more than once", round, r.missing, r.repeated)
				}
				if got, want := len(r.intervals), instances*(stepsPerWorkflow-1); got != want {
					t.Errorf("round %d: %d step intervals, want %d", round, got, want)
				}
				for _, d := range r.intervals {
					if d < 0 {
						t.Errorf("round %d: negative step interval %v: steps recorded out of order", round, d)
						break
					}
				}
			}
			if n := h.rec.stray.Load(); n != 0 {
				t.Errorf("%d task starts of unknown workflows or steps", n)
			}
			if h.warns.n.Load() > 0 {
				t.Logf("the runtime logged %v", h.warns)
			}
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
}

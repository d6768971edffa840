package bench

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/testenv"
)

var longSteps = flag.Int("bench.long-steps", 10000, "steps of the workflow BenchmarkLongWorkflow runs")

var (
	longStep = weft.NewTask[int, int]("Long", "step")
	longRun  = weft.NewWorkflow[int, int]("Long", "run")
)

// BenchmarkLongWorkflow runs one workflow calling a trivial task
// -bench.long-steps times in a row, on the embedded runtime and on
// pulsar + postgres (when its services are set), with workflow tasks run
// in the state engine (the fast path) or sent through the broker, and
// reports the cost of a step (from one task's start to the next one's)
// around steps 10, 1,000 and 10,000: with a history replayed or shipped
// whole at every step, it would grow with the step number.
func BenchmarkLongWorkflow(b *testing.B) {
	for _, c := range [][3]string{{"memory", "memory", ""}, {"memory", "memory", "broker"}, {"pulsar", "postgres", ""}, {"pulsar", "postgres", "broker"}} {
		tr, st, broker := c[0], c[1], c[2] == "broker"
		name := tr + "+" + st
		if broker {
			name += "/broker-path"
		}
		b.Run(name, func(b *testing.B) {
			n := *longSteps
			starts := make([]atomic.Int64, n)
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, longStep, func(_ weft.TaskContext, i int) (int, error) {
				if i >= 0 && i < n {
					starts[i].CompareAndSwap(0, time.Now().UnixNano())
				}
				return i + 1, nil
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, longRun, func(ctx weft.Context, steps int) (int, error) {
				i := 0
				for i < steps {
					v, err := weft.Call(ctx, longStep, i)
					if err != nil {
						return 0, err
					}
					i = v
				}
				return i, nil
			}))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			o, closeBackends, err := openBackends(ctx, b, st, tr, "bench_"+testenv.Suffix(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := closeBackends(); err != nil {
					b.Error(err)
				}
			}()
			o.DisableFastPath = broker // workflow tasks through the broker, as with role binaries
			rt, err := embedded.Start(ctx, reg, o)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := rt.Stop(); err != nil {
					b.Error(err)
				}
			}()
			b.ResetTimer()
			begin := time.Now()
			got, err := client.Run(ctx, rt.Client(), longRun, n)
			wall := time.Since(begin)
			if err != nil || got != n {
				b.Fatalf("the workflow ended with %d, %v", got, err)
			}
			per := func(at int) time.Duration { // mean step around at
				from, to := max(at-5, 0), min(at+5, n-1)
				if to <= from {
					return 0
				}
				return time.Duration((starts[to].Load() - starts[from].Load()) / int64(to-from))
			}
			var report string
			for _, at := range []int{10, 1000, 10000} {
				if at <= n {
					at = min(at, n-6)
					d := per(at)
					b.ReportMetric(float64(d.Microseconds())/1000, fmt.Sprintf("ms/step@%d", at))
					report += fmt.Sprintf("  step %d: %.3f ms", at, float64(d.Microseconds())/1000)
				}
			}
			b.Logf("%s: %d steps in %s (%.2f ms/step on average);%s", name, n, wall.Round(time.Millisecond),
				float64(wall.Microseconds())/1000/float64(n), report)
		})
	}
}

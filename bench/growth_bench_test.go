package bench

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	growthSteps   = flag.String("bench.growth-steps", "10,100,1000,10000", "comma-separated lengths of the sequential workflows BenchmarkCostGrowth runs")
	growthFanouts = flag.String("bench.growth-fanouts", "1000,10000", "comma-separated widths of the And fan-outs BenchmarkCostGrowth runs")
)

var (
	growthStep   = weft.NewTask[int, int]("Growth", "step")
	growthSeq    = weft.NewWorkflow[int, int]("GrowthSeq", "run")
	growthFanout = weft.NewWorkflow[int, int]("GrowthFanout", "run")
)

// BenchmarkCostGrowth reports how the cost of a step grows with the size
// of a workflow, on the embedded runtime, one workflow at a time: for
// sequential workflows of each -bench.growth-steps length, the process CPU
// per step and the mean step time around steps 10, 100, 1,000 and 10,000
// (from one task's start to the next one's); for And fan-outs of each
// -bench.growth-fanouts width, the wall time from the start to the result
// and the CPU per task. A replay or a state write costing O(history) per
// step shows as CPU per step rising with the length.
func BenchmarkCostGrowth(b *testing.B) {
	for _, n := range intList(b, *growthSteps) {
		b.Run(fmt.Sprintf("sequential-%d", n), func(b *testing.B) { growthSequential(b, n) })
	}
	for _, n := range intList(b, *growthFanouts) {
		b.Run(fmt.Sprintf("fanout-%d", n), func(b *testing.B) { growthFanoutRun(b, n) })
	}
}

func intList(b *testing.B, s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			b.Fatalf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out
}

func growthRegistry(starts []atomic.Int64) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, growthStep, func(_ weft.TaskContext, i int) (int, error) {
		if i >= 0 && i < len(starts) {
			starts[i].CompareAndSwap(0, time.Now().UnixNano())
		}
		return i + 1, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, growthSeq, func(ctx weft.Context, steps int) (int, error) {
		i := 0
		for i < steps {
			v, err := weft.Call(ctx, growthStep, i)
			if err != nil {
				return 0, err
			}
			i = v
		}
		return i, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, growthFanout, func(ctx weft.Context, width int) (int, error) {
		ds := make([]*weft.Deferred[int], width)
		for i := range ds {
			ds[i] = weft.Dispatch(ctx, growthStep, i)
		}
		vs, err := weft.AwaitAll(ds)
		if err != nil {
			return 0, err
		}
		sum := 0
		for _, v := range vs {
			sum += v
		}
		return sum, nil
	}))
	return reg
}

// growthRun starts the embedded runtime on reg, runs one workflow and
// returns its result, the wall time and the process CPU it took.
func growthRun(b *testing.B, reg *weft.Registry, wf weft.WorkflowRef[int, int], in int) (int, time.Duration, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	rt, err := embedded.Start(ctx, reg, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := rt.Stop(); err != nil {
			b.Error(err)
		}
	}()
	b.ResetTimer()
	cpu0, _ := processCPU()
	begin := time.Now()
	got, err := client.Run(ctx, rt.Client(), wf, in)
	wall := time.Since(begin)
	cpu1, _ := processCPU()
	if err != nil {
		b.Fatalf("the workflow failed: %v", err)
	}
	return got, wall, cpu1 - cpu0
}

func growthSequential(b *testing.B, n int) {
	starts := make([]atomic.Int64, n)
	got, wall, cpu := growthRun(b, growthRegistry(starts), growthSeq, n)
	if got != n {
		b.Fatalf("the workflow returned %d, want %d", got, n)
	}
	per := func(at int) time.Duration { // mean step around at (over a twentieth of it each side, at least 5 steps)
		w := max(5, at/20)
		from, to := max(at-w, 0), min(at+w, n-1)
		if to <= from {
			return 0
		}
		return time.Duration((starts[to].Load() - starts[from].Load()) / int64(to-from))
	}
	cpuPer := float64(cpu.Microseconds()) / float64(n)
	b.ReportMetric(cpuPer, "cpu-us/step")
	report := ""
	for _, at := range []int{10, 100, 1000, 10000} {
		if at > n {
			continue
		}
		at = min(at, n-6)
		if at < 1 {
			continue
		}
		d := per(at)
		b.ReportMetric(float64(d.Microseconds()), fmt.Sprintf("us/step@%d", at))
		report += fmt.Sprintf(", step %d %.0f µs", at, float64(d.Microseconds()))
	}
	b.Logf("sequential %d: %.0f µs CPU/step, wall %v (%.0f µs/step)%s", n, cpuPer, wall.Round(time.Millisecond),
		float64(wall.Microseconds())/float64(n), report)
}

func growthFanoutRun(b *testing.B, n int) {
	got, wall, cpu := growthRun(b, growthRegistry(nil), growthFanout, n)
	if want := n * (n + 1) / 2; got != want {
		b.Fatalf("the workflow returned %d, want %d", got, want)
	}
	cpuPer := float64(cpu.Microseconds()) / float64(n)
	b.ReportMetric(float64(wall.Milliseconds()), "wall-ms")
	b.ReportMetric(cpuPer, "cpu-us/task")
	b.Logf("fan-out %d joined with And: wall %v, %.0f µs CPU/task", n, wall.Round(time.Millisecond), cpuPer)
}

package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLoad keeps -bench.load-workflows workflows of ten sequential
// tasks in flight at once on separate roles (see loadRig), on every
// transport+storage combination whose services are set, with a state
// cache (-bench.load-cache) far smaller than the instances in flight, and
// reports per run:
//
//   - workflows/s;
//   - tasks: task executions, repeats included;
//   - reexecuted: steps executed more than once, and reexec-% their share
//     of all steps;
//   - reexecuted-before-fault: of those, the steps whose every execution
//     started before the fault was injected, which the fault cannot
//     explain;
//
// with no fault, with the state engine and the executor restarted
// gracefully halfway, and with them killed halfway (fault=none, restart,
// kill). Re-executions are a fault's cost: without one there must be none
// (TestLoadNoReexecution asserts it). Nothing here fails on speed.
func BenchmarkLoad(b *testing.B) {
	for _, c := range loadCombinations {
		for _, f := range []fault{noFault, restartFault, killFault} {
			cfg := rigConfig{transport: c[0], storage: c[1], fault: f, stateCache: *loadCache, concurrency: 8}
			b.Run(cfg.name()+"/fault="+string(f), func(b *testing.B) { benchLoad(b, cfg) })
		}
	}
}

func benchLoad(b *testing.B, cfg rigConfig) {
	n := max(*loadWorkflows, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	withRig(ctx, b, cfg, func(r *loadRig) {
		var sum loadResult
		b.ResetTimer()
		for range b.N {
			res := r.run(ctx, n)
			b.Logf("%s/fault=%s: %v", cfg.name(), cfg.fault, res)
			if res.failed > 0 || res.wrong > 0 || res.missing > 0 {
				b.Fatalf("%d workflows failed, %d returned a wrong value, %d steps never ran; the runtime logged %v", res.failed, res.wrong, res.missing, r.warns)
			}
			sum.workflows += res.workflows
			sum.wall += res.wall
			sum.tasks += res.tasks
			sum.reexecuted += res.reexecuted
			sum.beforeFault += res.beforeFault
		}
		b.StopTimer()
		b.ReportMetric(float64(sum.workflows)/sum.wall.Seconds(), "workflows/s")
		b.ReportMetric(float64(sum.tasks)/float64(b.N), "tasks")
		b.ReportMetric(float64(sum.reexecuted)/float64(b.N), "reexecuted")
		b.ReportMetric(sum.reexecutedPercent(), "reexec-%")
		if cfg.fault != noFault {
			b.ReportMetric(float64(sum.beforeFault)/float64(b.N), "reexecuted-before-fault")
		}
		if r.warns.n.Load() > 0 {
			b.Logf("the runtime logged %v", r.warns)
		}
	})
}

package bench

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"
)

var (
	loadWorkflows = flag.Int("bench.load-workflows", 10000,
		"workflows BenchmarkLoad keeps in flight at once per run (each runs "+fmt.Sprint(stepsPerWorkflow)+" task steps)")
	loadCache = flag.Int("bench.load-cache", 64,
		"state cache size of BenchmarkLoad's state engine (negative: none); smaller than the workflows in flight, most messages miss it")
)

// loadCombinations are the transport+storage pairs the load test runs on;
// all but memory+memory need their services (see testenv.Settings).
var loadCombinations = [][2]string{
	{"memory", "memory"},
	{"pulsar", "postgres"},
	{"pgqueue", "postgres"},
	{"pulsar", "redis"},
	{"pgqueue", "redis"},
}

// withRig starts a rig for cfg, runs f with it and closes it.
func withRig(ctx context.Context, t testing.TB, cfg rigConfig, f func(*loadRig)) {
	t.Helper()
	r, err := newLoadRig(ctx, t, cfg)
	if err != nil {
		t.Fatalf("%s: %v", cfg.name(), err)
	}
	defer func() {
		if err := r.close(); err != nil {
			t.Errorf("%s: close: %v", cfg.name(), err)
		}
	}()
	f(r)
}

// TestLoadNoReexecution runs workflows on separate roles with no state
// cache at all, so the state engine finds every state of every message in
// storage, and checks that no task ran twice: the outbox of a stored state
// must not be published again by a handling that cannot know it is
// needed. With the state engine replaced gracefully halfway (a redeploy,
// which empties its cache), the same holds. It runs on memory in every
// `go test`, and on pulsar+postgres and pgqueue+postgres when their
// services are set (TEST_REQUIRE_INTEGRATION=1 makes them required).
func TestLoadNoReexecution(t *testing.T) {
	for _, c := range [][2]string{{"memory", "memory"}, {"pulsar", "postgres"}, {"pgqueue", "postgres"}} {
		n := 300
		if c[0] == "memory" {
			n = 200
		}
		for _, f := range []fault{noFault, restartFault} {
			cfg := rigConfig{transport: c[0], storage: c[1], fault: f, stateCache: -1, concurrency: 8}
			t.Run(cfg.name()+"/fault="+string(f), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				withRig(ctx, t, cfg, func(r *loadRig) {
					res := r.run(ctx, n)
					t.Log(res)
					if res.failed > 0 || res.wrong > 0 || res.missing > 0 || res.stray > 0 {
						t.Fatalf("%d workflows failed, %d returned a wrong value, %d steps never ran, %d stray executions; the runtime logged %v",
							res.failed, res.wrong, res.missing, res.stray, r.warns)
					}
					if res.tasks != n*stepsPerWorkflow || res.reexecuted != 0 {
						t.Errorf("%d task executions for %d steps: %d steps executed more than once (%d extra executions); the runtime logged %v",
							res.tasks, n*stepsPerWorkflow, res.reexecuted, res.extra, r.warns)
					}
					if d := r.drops(); d.NoInstance > 0 {
						t.Errorf("the state engines found no instance for %d messages", d.NoInstance)
					}
				})
			})
		}
	}
}

// TestLoadKillLosesNothing kills the state engine and the executor halfway
// through a run (in-flight handlers cancelled, their messages delivered
// again) and checks that every workflow still ends with the right value
// and every step ran. Re-executions are expected there, and counted, but
// none of a step whose executions all started before the fault.
func TestLoadKillLosesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := rigConfig{transport: "memory", storage: "memory", fault: killFault, stateCache: 16, concurrency: 8}
	withRig(ctx, t, cfg, func(r *loadRig) {
		res := r.run(ctx, 200)
		t.Log(res)
		if res.faultAt == 0 {
			t.Error("the fault was never injected")
		}
		if res.failed > 0 || res.wrong > 0 || res.missing > 0 || res.stray > 0 {
			t.Fatalf("%d workflows failed, %d returned a wrong value, %d steps never ran, %d stray executions; the runtime logged %v",
				res.failed, res.wrong, res.missing, res.stray, r.warns)
		}
		if res.beforeFault > 0 {
			t.Errorf("%d steps executed more than once before the fault", res.beforeFault)
		}
	})
}

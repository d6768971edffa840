package sim_test

import (
	"testing"

	"github.com/weftio/weft/internal/sim"
)

func TestReviewLateDuplicateOutcome(t *testing.T) {
	var sc pathScenario
	for _, p := range pathScenarios {
		if p.name == "review: the first workflow task delivered again late" {
			sc = p
		}
	}
	for _, replay := range []bool{true, false} {
		reg, log := sc.reg(t)
		s := sim.New(t, reg, sim.Options{ReplayEveryTask: replay})
		sc.run(s)
		for _, o := range s.Outcomes("dp1") {
			t.Logf("replayEveryTask=%v: outcome %s %s; tasks executed %v", replay, o.Kind, o.Value, log.runs)
		}
		for i, wt := range s.WorkflowTasks {
			t.Logf("replayEveryTask=%v: wt %d result %s", replay, i, wt.Result)
		}
	}
}

package sim_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// TestEveryMessageTypeDeliveredTwice redelivers every envelope of one type,
// once right away and once after everything else queued, and checks that
// the outcome, the number of workflow tasks and the set of tasks executed
// are exactly those of a clean run.
func TestEveryMessageTypeDeliveredTwice(t *testing.T) {
	for _, fast := range []bool{false, true} {
		reg, cleanLog := kitchenSink(t)
		clean := sim.New(t, reg, sim.Options{FastPath: fast})
		runKitchenSink(clean)
		want := checkCompleted(t, clean, "p1", kitchenSinkResult)
		types := slices.Compact(slices.Sorted(slices.Values(clean.Types())))
		// In-process workflow tasks never travel as messages.
		if min := map[bool]int{false: 10, true: 8}[fast]; len(types) < min {
			t.Fatalf("the scenario exercises only %d message types: %v", len(types), types)
		}
		for _, typ := range types {
			t.Run(fmt.Sprintf("fast=%v/%s", fast, typ), func(t *testing.T) {
				reg, log := kitchenSink(t)
				s := sim.New(t, reg, sim.Options{FastPath: fast})
				seen := map[string]bool{}
				s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
					if env.Type != typ || seen[env.ID] {
						return
					}
					seen[env.ID] = true
					s.Queue = append([]core.Envelope{env}, s.Queue...) // at once
					s.Queue = append(s.Queue, env)                     // and late
				}
				runKitchenSink(s)
				got := checkCompleted(t, s, "p1", kitchenSinkResult)
				if got.TaskIndex != want.TaskIndex {
					t.Errorf("workflow tasks = %d, want %d", got.TaskIndex, want.TaskIndex)
				}
				if log.distinct() != cleanLog.distinct() {
					t.Errorf("distinct tasks executed = %d, want %d", log.distinct(), cleanLog.distinct())
				}
				if len(seen) == 0 {
					t.Fatalf("no %s was duplicated", typ)
				}
				if len(s.DeadLetters) > 0 {
					t.Errorf("dead letters: %+v", s.DeadLetters)
				}
				// Nothing but the duplicates themselves may differ: the
				// engine must not have produced new kinds of work.
				if a, b := countTypes(clean, "weft.executor.ExecuteWorkflowTask"), countTypes(s, "weft.executor.ExecuteWorkflowTask"); b > a && typ != "weft.executor.ExecuteWorkflowTask" {
					t.Errorf("workflow tasks dispatched = %d, clean run %d", b, a)
				}
			})
		}
	}
}

func countTypes(s *sim.Sim, typ string) int {
	ids := map[string]bool{}
	for _, e := range s.Handled {
		if e.Type == typ {
			ids[e.ID] = true
		}
	}
	return len(ids)
}

package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

// TestTransactionalWriteFailsPublishesNothing fails each state write of the
// scenario in turn with outputs written inside the state's transaction (as
// with PostgreSQL as storage and transport). A failed write must publish
// nothing, so even without a deduplicating broker no envelope is ever
// published twice, and the run ends like a clean one.
func TestTransactionalWriteFailsPublishesNothing(t *testing.T) {
	for _, fast := range []bool{false, true} {
		reg, cleanLog := kitchenSink(t)
		counter := &flakyStore{KeyValue: memory.New()}
		clean := sim.New(t, reg, sim.Options{FastPath: fast, Store: counter, Transactional: true})
		runKitchenSink(clean)
		want := checkCompleted(t, clean, "p1", kitchenSinkResult)
		for id, n := range clean.Published {
			if n != 1 {
				t.Errorf("fast=%v clean run: %s published %d times", fast, id, n)
			}
		}
		writes := counter.puts
		for k := 1; k <= writes; k++ {
			t.Run(fmt.Sprintf("fast=%v/write=%d", fast, k), func(t *testing.T) {
				reg, log := kitchenSink(t)
				var s *sim.Sim
				store := &flakyStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), failAt: k}
				s = sim.New(t, reg, sim.Options{FastPath: fast, Store: store, Transactional: true})
				runKitchenSink(s)
				if !store.failed {
					t.Fatalf("write %d never happened", k)
				}
				got := checkCompleted(t, s, "p1", kitchenSinkResult)
				if got.TaskIndex != want.TaskIndex {
					t.Errorf("workflow tasks = %d, want %d", got.TaskIndex, want.TaskIndex)
				}
				if log.distinct() != cleanLog.distinct() {
					t.Errorf("distinct tasks = %d, want %d", log.distinct(), cleanLog.distinct())
				}
				for id, n := range s.Published {
					if n != 1 {
						t.Errorf("%s published %d times", id, n)
					}
				}
				for id, attempts := range s.Attempts {
					if len(attempts) > 1 && len(attempts[0]) > 0 {
						t.Errorf("input %s: the attempt whose write failed published %v", id, attempts[0])
					}
				}
				if len(s.DeadLetters) > 0 {
					t.Errorf("dead letters: %+v", s.DeadLetters)
				}
			})
		}
	}
}

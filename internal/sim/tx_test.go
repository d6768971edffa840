package sim_test

import (
	"testing"

	"github.com/weftio/weft/internal/sim"
)

// TestTransactionalWriteFailsPublishesNothing fails each state write of the
// scenario in turn with outputs written inside the state's transaction (as
// with PostgreSQL as storage and transport). A failed write must publish
// nothing, so even without a deduplicating broker no envelope is ever
// published twice, and the run ends like a clean one.
func TestTransactionalWriteFailsPublishesNothing(t *testing.T) {
	failEachWrite(t, sim.Options{Transactional: true},
		func(t *testing.T, clean *sim.Sim, _ int) {
			for id, n := range clean.Published {
				if n != 1 {
					t.Errorf("clean run: %s published %d times", id, n)
				}
			}
		},
		func(t *testing.T, s *sim.Sim, _, _ *execLog) {
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
		})
}

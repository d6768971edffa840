package sim_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// flakyStore fails exactly one Put, the failAt-th (1-based), after which it
// behaves normally: the write is lost after the outputs were published.
type flakyStore struct {
	storage.KeyValue
	puts, failAt int
	failed       bool
}

var errInjected = errors.New("injected storage failure")

func (f *flakyStore) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	f.puts++
	if f.puts == f.failAt {
		f.failed = true
		return 0, errInjected
	}
	return f.KeyValue.Put(ctx, key, value, expected, ttl)
}

// TestStorageWriteFailsOnceAfterPublish fails each state write of the
// scenario in turn. The outputs of the failed attempt are already
// published; the redelivered input must produce the same envelopes (same
// ids, so a deduplicating broker drops them) and the run must end exactly
// like a clean one, with no task or workflow task run twice.
func TestStorageWriteFailsOnceAfterPublish(t *testing.T) {
	failEachWrite(t, sim.Options{Dedup: true},
		func(t *testing.T, _ *sim.Sim, writes int) {
			if writes < 10 {
				t.Fatalf("only %d writes in the scenario", writes)
			}
		},
		func(t *testing.T, s *sim.Sim, log, cleanLog *execLog) {
			for id, n := range log.runs {
				if n != cleanLog.runs[id] && cleanLog.runs[id] != 0 {
					t.Errorf("task %s ran %d times, clean run %d", id, n, cleanLog.runs[id])
				}
			}
			retried := 0
			for id, attempts := range s.Attempts {
				if len(attempts) < 2 {
					continue
				}
				retried++
				// The retry may get further than the failed attempt, but
				// what the failed attempt published comes again with the
				// same ids, so a deduplicating broker drops it.
				for _, pid := range attempts[0] {
					if !slices.Contains(attempts[1], pid) {
						t.Errorf("input %s published %v, then %v when retried: a broker could not drop the repeats", id, attempts[0], attempts[1])
					}
				}
			}
			if retried != 1 {
				t.Errorf("%d inputs were handled again, want exactly the one whose write failed", retried)
			}
		})
}

// failEachWrite runs the kitchen-sink scenario with opts (its Store is set
// here), on both paths: once cleanly, handed to clean with the number of
// state writes, then once per write with that write failing. Every faulty
// run must fail its write, complete like the clean run (same workflow-task
// count, same distinct tasks) and dead-letter nothing; check adds the
// test's own assertions.
func failEachWrite(t *testing.T, opts sim.Options, clean func(t *testing.T, s *sim.Sim, writes int),
	check func(t *testing.T, s *sim.Sim, log, cleanLog *execLog)) {
	t.Helper()
	for _, fast := range []bool{false, true} {
		reg, cleanLog := kitchenSink(t)
		counter := &flakyStore{KeyValue: memory.New()}
		o := opts
		o.FastPath, o.Store = fast, counter
		cs := sim.New(t, reg, o)
		runKitchenSink(cs)
		want := checkCompleted(t, cs, "p1", kitchenSinkResult)
		writes := counter.puts
		clean(t, cs, writes)
		for k := 1; k <= writes; k++ {
			t.Run(fmt.Sprintf("fast=%v/write=%d", fast, k), func(t *testing.T) {
				reg, log := kitchenSink(t)
				var s *sim.Sim
				store := &flakyStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), failAt: k}
				o := opts
				o.FastPath, o.Store = fast, store
				s = sim.New(t, reg, o)
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
				check(t, s, log, cleanLog)
				if len(s.DeadLetters) > 0 {
					t.Errorf("dead letters: %+v", s.DeadLetters)
				}
			})
		}
	}
}

// TestPublishFailsOnce fails each publish of the scenario in turn (before a
// state write, or after it for the fast path's outbox). The input is handled
// again and the run ends exactly like a clean one: nothing lost, no task
// run under a new id.
func TestPublishFailsOnce(t *testing.T) {
	for _, fast := range []bool{false, true} {
		reg, cleanLog := kitchenSink(t)
		calls := 0
		clean := sim.New(t, reg, sim.Options{FastPath: fast, Dedup: true, FailPublish: func(int) bool { calls++; return false }})
		runKitchenSink(clean)
		want := checkCompleted(t, clean, "p1", kitchenSinkResult)
		for k := 1; k <= calls; k++ {
			t.Run(fmt.Sprintf("fast=%v/publish=%d", fast, k), func(t *testing.T) {
				reg, log := kitchenSink(t)
				s := sim.New(t, reg, sim.Options{FastPath: fast, Dedup: true, FailPublish: func(n int) bool { return n == k }})
				runKitchenSink(s)
				got := checkCompleted(t, s, "p1", kitchenSinkResult)
				if got.TaskIndex != want.TaskIndex {
					t.Errorf("workflow tasks = %d, want %d", got.TaskIndex, want.TaskIndex)
				}
				if log.distinct() != cleanLog.distinct() {
					t.Errorf("distinct tasks = %d, want %d", log.distinct(), cleanLog.distinct())
				}
				if len(s.DeadLetters) > 0 {
					t.Errorf("dead letters: %+v", s.DeadLetters)
				}
			})
		}
	}
}

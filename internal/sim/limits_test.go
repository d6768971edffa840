package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// Limits are permanent errors (design 5.16): what can never be published
// or stored fails the task or the method with a clear payload-too-large
// error; it is never retried in place for ever, and nothing else waits.

const simLimit = 16 << 10

var (
	bigResult = weft.NewTask[int, string]("Big", "result")
	bigEcho   = weft.NewTask[string, int]("Big", "echo")
	smallTask = weft.NewTask[int, int]("Big", "small")
	bigWf     = weft.NewWorkflow[int, string]("BigWf", "run")
	bigArgWf  = weft.NewWorkflow[int, string]("BigArg", "run")
	smallWf   = weft.NewWorkflow[int, int]("SmallWf", "run")
	loopWf    = weft.NewWorkflow[int, int]("Loop", "run")
)

func bigRegistry(attempts *int) *weft.Registry {
	reg := weft.NewRegistry()
	policy := weft.RetryPolicy{Minimum: time.Second, Maximum: time.Minute, Coefficient: 2, MaxRetries: 2}
	weft.MustRegister(weft.RegisterTask(reg, bigResult, func(_ weft.TaskContext, n int) (string, error) {
		*attempts++
		return strings.Repeat("x", n), nil
	}, weft.WithRetry(policy)))
	weft.MustRegister(weft.RegisterTask(reg, bigEcho, func(_ weft.TaskContext, s string) (int, error) { return len(s), nil }))
	weft.MustRegister(weft.RegisterTask(reg, smallTask, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	report := func(err error) (string, error) {
		if errors.Is(err, weft.ErrPayloadTooLarge) {
			return "too large: " + err.Error(), nil
		}
		return "", err
	}
	weft.MustRegister(weft.RegisterWorkflow(reg, bigWf, func(ctx weft.Context, n int) (string, error) {
		s, err := weft.Call(ctx, bigResult, n)
		if err != nil {
			return report(err)
		}
		// One more step, so the result stays in the stored state a while.
		if _, err := weft.Call(ctx, smallTask, 0); err != nil {
			return "", err
		}
		return fmt.Sprint(len(s)), nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, bigArgWf, func(ctx weft.Context, n int) (string, error) {
		v, err := weft.Call(ctx, bigEcho, strings.Repeat("y", n)) // the command's input is too large to send
		return fmt.Sprint(v), err
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, smallWf, func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, smallTask, n) }))
	weft.MustRegister(weft.RegisterWorkflow(reg, loopWf, func(ctx weft.Context, n int) (int, error) {
		for i := range n {
			if _, err := weft.Call(ctx, smallTask, i); err != nil {
				return 0, err
			}
		}
		return n, nil
	}))
	return reg
}

func TestTaskResultTooLargeFailsTheTaskThroughItsPolicy(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			attempts := 0
			s := sim.New(t, bigRegistry(&attempts), sim.Options{FastPath: fast, MaxMessageSize: simLimit})
			dispatch(s, "BigWf", "run", "b1", 2*simLimit)
			dispatch(s, "SmallWf", "run", "s1", 1) // not held up
			s.RunAll()
			if attempts != 3 {
				t.Errorf("the task ran %d times, want 3 (the attempt and two retries of its policy)", attempts)
			}
			outs := s.Outcomes("b1")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || !strings.Contains(string(outs[0].Value), "too large") ||
				!strings.Contains(string(outs[0].Value), "bytes, over the") {
				t.Fatalf("outcome %+v, want the workflow to see a payload-too-large task failure", outs)
			}
			checkCompleted(t, s, "s1", "2")
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

func TestWorkflowTaskResultTooLargeFailsTheMethod(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			attempts := 0
			s := sim.New(t, bigRegistry(&attempts), sim.Options{FastPath: fast, MaxMessageSize: simLimit})
			dispatch(s, "BigArg", "run", "a1", 2*simLimit)
			s.RunAll()
			outs := s.Outcomes("a1")
			if len(outs) != 1 || outs[0].Kind != core.MethodFailed || !errors.Is(outs[0].Error, core.ErrPayloadTooLarge) {
				t.Fatalf("outcome %+v, want the method failed with payload too large", outs)
			}
			if st := s.State("a1"); st == nil || st.Method("a1") == nil || st.Method("a1").Failure == nil {
				t.Fatalf("the state must stay with the method failed: %+v", st)
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

// TestHistoryTooLongForAMessageFailsTheMethod: on the broker path the
// workflow task carries the history; once it no longer fits in a message
// the method fails (the state stays), instead of hanging.
func TestHistoryTooLongForAMessageFailsTheMethod(t *testing.T) {
	attempts := 0
	s := sim.New(t, bigRegistry(&attempts), sim.Options{MaxMessageSize: simLimit})
	dispatch(s, "Loop", "run", "l1", 1000)
	s.RunAll()
	outs := s.Outcomes("l1")
	if len(outs) != 1 || outs[0].Kind != core.MethodFailed || !errors.Is(outs[0].Error, core.ErrPayloadTooLarge) ||
		!strings.Contains(outs[0].Error.Error(), "history") {
		t.Fatalf("outcome %+v, want the method failed: history too large", outs)
	}
	if len(s.DeadLetters) > 0 {
		t.Fatalf("dead letters: %+v", s.DeadLetters)
	}
}

// limitedStore refuses values over max bytes, as a server would.
type limitedStore struct {
	storage.KeyValue
	max int
}

func (l *limitedStore) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if len(value) > l.max {
		return 0, fmt.Errorf("limited: %w: %d bytes, at most %d", storage.ErrTooLarge, len(value), l.max)
	}
	return l.KeyValue.Put(ctx, key, value, expected, ttl)
}

// declaredStore is a limitedStore that declares its limit.
type declaredStore struct{ *limitedStore }

func (d declaredStore) MaxValueSize() int { return d.max }

// TestStateTooLargeToStoreFailsTheMethod: a workflow whose state outgrows
// what storage takes fails its method with a clear error and keeps the
// last state that fitted; other workflows go on.
func TestStateTooLargeToStoreFailsTheMethod(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			attempts := 0
			var s *sim.Sim
			store := declaredStore{&limitedStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), max: 32 << 10}}
			s = sim.New(t, bigRegistry(&attempts), sim.Options{FastPath: fast, Store: store})
			dispatch(s, "Loop", "run", "l1", 1000)
			dispatch(s, "SmallWf", "run", "s1", 1)
			s.RunAll()
			outs := s.Outcomes("l1")
			if len(outs) != 1 || outs[0].Kind != core.MethodFailed || !errors.Is(outs[0].Error, core.ErrPayloadTooLarge) ||
				!strings.Contains(outs[0].Error.Error(), "the storage takes") {
				t.Fatalf("outcome %+v, want the method failed: state too large to store; dead %+v", outs, s.DeadLetters)
			}
			if st := s.State("l1"); st == nil || st.Method("l1") == nil || st.Method("l1").Failure == nil {
				t.Fatalf("the state must stay with the method failed: %+v", st)
			}
			checkCompleted(t, s, "s1", "2")
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

// TestResultTooLargeToStoreFailsTheCommand: a task result that fits in a
// message but not in the stored state is recorded as a failure.
func TestResultTooLargeToStoreFailsTheCommand(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			attempts := 0
			var s *sim.Sim
			store := &limitedStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), max: 24 << 10}
			s = sim.New(t, bigRegistry(&attempts), sim.Options{FastPath: fast, Store: store})
			dispatch(s, "BigWf", "run", "b1", 30<<10)
			s.RunAll()
			// Recorded as a failed result the workflow sees (the broker path
			// stores the result first), or as the failure of the workflow
			// task that would have stored it (the fast path runs it at once).
			outs := s.Outcomes("b1")
			seen := len(outs) == 1 && outs[0].Kind == core.MethodCompleted && strings.Contains(string(outs[0].Value), "not recorded")
			failed := len(outs) == 1 && outs[0].Kind == core.MethodFailed && errors.Is(outs[0].Error, core.ErrPayloadTooLarge)
			if !seen && !failed {
				t.Fatalf("outcome %+v, want the workflow to see the result not recorded, or its method failed; dead %+v", outs, s.DeadLetters)
			}
			if attempts != 1 {
				t.Errorf("the task ran %d times, want once", attempts)
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

// TestStateTooLargeForAStoreThatDoesNotSay: a store that declares no limit
// is found out by its writes failing; the instance's workflow tasks, then
// its results, are failed in turn, and when even that does not fit the
// input is dead-lettered with the reason. Either way nothing is retried
// for ever and other workflows go on; and the limit is learnt, so the next
// instance growing as large fails its method with room to record it.
func TestStateTooLargeForAStoreThatDoesNotSay(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			attempts := 0
			var s *sim.Sim
			store := &limitedStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), max: 32 << 10}
			s = sim.New(t, bigRegistry(&attempts), sim.Options{FastPath: fast, Store: store})
			dispatch(s, "Loop", "run", "l1", 1000)
			dispatch(s, "SmallWf", "run", "s1", 1)
			s.RunAll()
			checkCompleted(t, s, "s1", "2")
			outs := s.Outcomes("l1")
			failed := len(outs) == 1 && outs[0].Kind == core.MethodFailed && errors.Is(outs[0].Error, core.ErrPayloadTooLarge)
			dead := len(s.DeadLetters) == 1 && strings.Contains(s.DeadLetters[0].Reason, "more than the storage accepts")
			if !failed && !dead {
				t.Fatalf("outcome %+v, dead letters %+v: want the method failed or the input dead-lettered, naming the limit", outs, s.DeadLetters)
			}
			t.Logf("method failed: %v, input dead-lettered: %v", failed, dead)
			dispatch(s, "Loop", "run", "l2", 1000)
			s.RunAll()
			if outs := s.Outcomes("l2"); len(outs) != 1 || outs[0].Kind != core.MethodFailed || !errors.Is(outs[0].Error, core.ErrPayloadTooLarge) {
				t.Fatalf("the next instance: %+v, want its method failed (the limit learnt); dead letters %+v", outs, s.DeadLetters)
			}
		})
	}
}

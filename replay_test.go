package weft_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var add1 = weft.NewTask[int, int]("Calc", "add1")

func calcRegistry() *weft.Registry {
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, add1, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	return r
}

// TestInlineRunsOnce: an inline side effect runs once, however many
// replays follow, and replays return its recorded value or error.
func TestInlineRunsOnce(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		var valueCalls, errorCalls atomic.Int32
		var mu sync.Mutex
		var seen []string // the inline error as seen by every replay
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Inliner", "run"), func(ctx weft.Context, n int) (int, error) {
			v, err := weft.Inline(ctx, func() (int, error) { return 40 + int(valueCalls.Add(1)), nil })
			if err != nil {
				return 0, err
			}
			_, ierr := weft.Inline(ctx, func() (string, error) {
				errorCalls.Add(1)
				return "", errors.New("the dice fell off the table")
			})
			if ierr == nil {
				return 0, errors.New("the recorded inline error was lost")
			}
			mu.Lock()
			seen = append(seen, ierr.Error())
			mu.Unlock()
			if !errors.Is(ierr, weft.ErrExecutorError) {
				return 0, errors.New("inline error is not an executor error: " + ierr.Error())
			}
			for range 3 {
				if v, err = weft.Call(ctx, add1, v); err != nil {
					return 0, err
				}
				if err := weft.Sleep(ctx, time.Minute); err != nil {
					return 0, err
				}
			}
			return v, nil
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast, ReplayEveryTask: true})
		dispatchSim(s, "Inliner", "run", "i1", 0, nil, nil)
		s.RunAll()
		completedWith(t, s, "i1", "44") // 41 + 3
		if valueCalls.Load() != 1 || errorCalls.Load() != 1 {
			t.Fatalf("inline functions ran %d and %d times, want once each", valueCalls.Load(), errorCalls.Load())
		}
		if len(seen) < 7 {
			t.Fatalf("only %d replays reached the inline: the test does not replay", len(seen))
		}
		for _, e := range seen {
			if e != seen[0] || !strings.Contains(e, "the dice fell off the table") {
				t.Fatalf("replays saw the inline error as %q, want the recorded one every time: %q", e, seen)
			}
		}
	})
}

// TestNowIsTheTriggerInstant: Now never reads the wall clock; it is the
// instant of the message that triggered the workflow task.
func TestNowIsTheTriggerInstant(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		var mu sync.Mutex
		var starts []time.Time // Now before the first step, per replay
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, []time.Time]("Clock", "run"), func(ctx weft.Context, _ int) ([]time.Time, error) {
			mu.Lock()
			starts = append(starts, weft.Now(ctx))
			mu.Unlock()
			fired, err := weft.Timer(ctx, time.Hour).Await()
			if err != nil {
				return nil, err
			}
			t1 := weft.Now(ctx)
			if _, err := weft.Call(ctx, add1, 1); err != nil {
				return nil, err
			}
			return []time.Time{fired, t1, weft.Now(ctx)}, nil
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast, ReplayEveryTask: true})
		s.Now = sim.Epoch.Add(17 * time.Second)
		start := s.Now
		dispatchSim(s, "Clock", "run", "c1", 0, nil, nil)
		s.Run()
		s.Advance(time.Hour)
		var got []time.Time
		o := onlyOutcome(t, s, "c1")
		if err := jsonUnmarshal(o.Value, &got); err != nil || o.Kind != core.MethodCompleted {
			t.Fatalf("outcome %+v %v", o, err)
		}
		due := start.Add(time.Hour)
		// The task's result triggers the last replay at the same fake instant.
		want := []time.Time{due, due, due}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Fatalf("times = %v, want %v", got, want)
			}
		}
		if len(starts) < 3 || !starts[0].Equal(start) {
			t.Fatalf("Now in the first workflow task = %v (%d replays), want %v", starts, len(starts), start)
		}
	})
}

// TestNowIsStableAcrossReplays: what the code saw as Now at a point of its
// history must not change when a later workflow task replays that point,
// or code deriving values or branches from it stops being deterministic.
func TestNowIsStableAcrossReplays(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var starts []time.Time
	r := calcRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Clock", "run"), func(ctx weft.Context, _ int) (int, error) {
		mu.Lock()
		starts = append(starts, weft.Now(ctx))
		mu.Unlock()
		if err := weft.Sleep(ctx, time.Hour); err != nil {
			return 0, err
		}
		return weft.Call(ctx, add1, 1)
	}))
	// A deadline computed from Now, under strict checks.
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Deadline", "run"), func(ctx weft.Context, _ int) (int, error) {
		if _, err := weft.TimerUntil(ctx, weft.Now(ctx).Add(time.Hour)).Await(); err != nil {
			return 0, err
		}
		return weft.Call(ctx, add1, 1)
	}, weft.WithCheckMode(core.CheckStrict)))
	// A deadline fixed at the start, used after an earlier step (simple checks).
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, time.Time]("LateDeadline", "run"), func(ctx weft.Context, _ int) (time.Time, error) {
		deadline := weft.Now(ctx).Add(3 * time.Hour)
		if err := weft.Sleep(ctx, 90*time.Minute); err != nil {
			return time.Time{}, err
		}
		return weft.TimerUntil(ctx, deadline).Await()
	}))
	s := sim.New(t, r, sim.Options{FastPath: true, ReplayEveryTask: true})
	dispatchSim(s, "Clock", "run", "c1", 0, nil, nil)
	dispatchSim(s, "Deadline", "run", "d1", 0, nil, nil)
	dispatchSim(s, "LateDeadline", "run", "l1", 0, nil, nil)
	s.RunAll()
	completedWith(t, s, "c1", "2")
	var changed error
	if o := onlyOutcome(t, s, "d1"); o.Kind != core.MethodCompleted {
		changed = o.Error
	}
	var fired time.Time
	if err := jsonUnmarshal(onlyOutcome(t, s, "l1").Value, &fired); err != nil {
		t.Fatal(err)
	}
	late := !fired.Equal(sim.Epoch.Add(3 * time.Hour))
	for _, st := range starts {
		if !st.Equal(starts[0]) || changed != nil || late {
			t.Fatalf("Now must be stable across replays (%v); "+
				"a TimerUntil(start+3h) issued after a 90m sleep fires at %v instead of +3h; TimerUntil(Now+1h) under strict checks fails with: %v",
				starts, fired.Sub(sim.Epoch), changed)
		}
	}
	completedWith(t, s, "d1", "2")
}

// TestInfo: GetInfo describes the instance as dispatched.
func TestInfo(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, weft.Info]("Described", "main"), func(ctx weft.Context, _ int) (weft.Info, error) {
			if _, err := weft.Call(ctx, add1, 1); err != nil { // seen after a replay too
				return weft.Info{}, err
			}
			return weft.GetInfo(ctx), nil
		}, weft.WithVersion(3)))
		s := sim.New(t, r, sim.Options{FastPath: fast, ReplayEveryTask: true})
		dispatchSim(s, "Described", "main", "d-42", 0, []string{"customer:7", "vip"}, map[string]string{"source": "test"})
		s.Run()
		var got weft.Info
		o := onlyOutcome(t, s, "d-42")
		if err := jsonUnmarshal(o.Value, &got); err != nil {
			t.Fatal(err)
		}
		want := weft.Info{Workflow: "Described", WorkflowID: "d-42", Method: "main", MethodRunID: "d-42", Version: 3,
			Tags: []string{"customer:7", "vip"}, Meta: map[string]string{"source": "test"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("info = %+v, want %+v", got, want)
		}
	})
}

// TestStatusAsSeenAtReplay: Status reports what the workflow saw at that
// point of its history, not what is known now, so replays agree.
func TestStatusAsSeenAtReplay(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		var mu sync.Mutex
		var afterA, afterSleep []weft.Status
		r := calcRegistry()
		weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Calc", "add2"), func(_ weft.TaskContext, n int) (int, error) { return n + 2, nil }))
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Peeker", "run"), func(ctx weft.Context, n int) (int, error) {
			a := weft.Dispatch(ctx, add1, n)
			b := weft.Dispatch(ctx, weft.NewTask[int, int]("Calc", "add2"), n)
			timer := weft.Timer(ctx, time.Hour)
			if st := timer.Status(); st != core.StateOngoing {
				return 0, errors.New("a new timer is " + string(st))
			}
			va, err := a.Await()
			if err != nil {
				return 0, err
			}
			mu.Lock()
			afterA = append(afterA, b.Status())
			mu.Unlock()
			if err := weft.Sleep(ctx, time.Minute); err != nil {
				return 0, err
			}
			mu.Lock()
			afterSleep = append(afterSleep, b.Status())
			mu.Unlock()
			vb, err := b.Await()
			return va + vb, err
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast, ReplayEveryTask: true})
		dispatchSim(s, "Peeker", "run", "p1", 1, nil, nil)
		s.RunAll()
		completedWith(t, s, "p1", "5")
		// b's result came in after the replay that resumed from a was
		// triggered: every replay sees it ongoing there, and completed
		// after the sleep.
		if len(afterA) < 2 || slices.ContainsFunc(afterA, func(st weft.Status) bool { return st != core.StateOngoing }) {
			t.Errorf("b's status right after a = %v, want ongoing on every replay", afterA)
		}
		if len(afterSleep) < 1 || slices.ContainsFunc(afterSleep, func(st weft.Status) bool { return st != core.StateCompleted }) {
			t.Errorf("b's status after the sleep = %v, want completed on every replay", afterSleep)
		}
	})
}

// TestCheckModes changes a task's input between replays: strict sees a
// change, simple compares names only, none accepts even another task.
func TestCheckModes(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		var variant atomic.Int32
		add2 := weft.NewTask[int, int]("Calc", "add2")
		r := calcRegistry()
		weft.MustRegister(weft.RegisterTask(r, add2, func(_ weft.TaskContext, n int) (int, error) { return n + 2, nil }))
		changedInput := func(ctx weft.Context, n int) (int, error) {
			v, err := weft.Call(ctx, add1, n+int(variant.Load())) // input differs after the change
			if err != nil {
				return 0, err
			}
			return v, weft.Sleep(ctx, time.Hour)
		}
		changedTask := func(ctx weft.Context, n int) (int, error) {
			task := add1
			if variant.Load() != 0 {
				task = add2
			}
			v, err := weft.Call(ctx, task, n)
			if err != nil {
				return 0, err
			}
			return v, weft.Sleep(ctx, time.Hour)
		}
		reg := func(name string, fn func(weft.Context, int) (int, error), opts ...weft.WorkflowOption) {
			weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int](name, "run"), fn, opts...))
		}
		reg("StrictInput", changedInput, weft.WithCheckMode(core.CheckStrict))
		reg("SimpleInput", changedInput) // default: simple
		reg("SimpleTask", changedTask, weft.WithCheckMode(core.CheckSimple))
		reg("NoneTask", changedTask, weft.WithCheckMode(core.CheckNone))
		s := sim.New(t, r, sim.Options{FastPath: fast, ReplayEveryTask: true})
		for _, w := range []string{"StrictInput", "SimpleInput", "SimpleTask", "NoneTask"} {
			dispatchSim(s, w, "run", w, 1, nil, nil)
		}
		s.Run()
		variant.Store(10)
		s.RunAll()
		for _, w := range []string{"StrictInput", "SimpleTask"} {
			if err := failedWith(t, s, w); !errors.Is(err, weft.ErrWorkflowChanged) {
				t.Errorf("%s: %v, want a workflow change", w, err)
			} else if !strings.Contains(err.Error(), "position 0") {
				t.Errorf("%s: %q does not say where the code changed", w, err)
			}
			if ended(s, w) {
				t.Errorf("%s: a changed workflow must keep its state", w)
			}
		}
		for _, w := range []string{"SimpleInput", "NoneTask"} {
			completedWith(t, s, w, "2") // the recorded result of add1(1)
		}
	})
}

// TestAwaitingAnotherDeferredIsAChange: the same position awaiting a
// different deferred is caught by the step hash.
func TestAwaitingAnotherDeferredIsAChange(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		var variant atomic.Int32
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Swapper", "run"), func(ctx weft.Context, n int) (int, error) {
			a := weft.Dispatch(ctx, add1, n)
			b := weft.Dispatch(ctx, add1, n+10)
			first := a
			if variant.Load() != 0 {
				first = b
			}
			v, err := first.Await()
			if err != nil {
				return 0, err
			}
			return v, weft.Sleep(ctx, time.Hour)
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast, ReplayEveryTask: true})
		dispatchSim(s, "Swapper", "run", "sw", 1, nil, nil)
		s.Run()
		variant.Store(1)
		s.RunAll()
		err := failedWith(t, s, "sw")
		if !errors.Is(err, weft.ErrWorkflowChanged) || !strings.Contains(err.Error(), "awaited step differs") {
			t.Fatalf("error %v, want a workflow change at the await", err)
		}
	})
}

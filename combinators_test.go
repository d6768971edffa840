package weft_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/sim"
)

var (
	failEarly = weft.NewTask[int, int]("Fail", "early")
	failLate  = weft.NewTask[int, int]("Fail", "late")
	failSlow  = weft.NewTask[int, int]("Fail", "slow")
)

// failingRegistry has tasks that always fail; "slow" fails a second time
// one minute after its first attempt.
func failingRegistry() *weft.Registry {
	r := calcRegistry()
	for _, task := range []weft.TaskRef[int, int]{failEarly, failLate} {
		weft.MustRegister(weft.RegisterTask(r, task, func(ctx weft.TaskContext, _ int) (int, error) {
			return 0, errors.New(ctx.Info().Method + " failed")
		}))
	}
	weft.MustRegister(weft.RegisterTask(r, failSlow, func(ctx weft.TaskContext, _ int) (int, error) {
		return 0, errors.New("slow failed")
	}, weft.WithRetry(weft.RetryPolicy{Minimum: time.Minute, Maximum: time.Minute, Coefficient: 1, MaxRetries: 1})))
	return r
}

// failedMethod names the task behind a deferred error.
func failedMethod(err error) string {
	for _, e := range chain(err) {
		if e.Service != "" {
			return e.Method
		}
	}
	return "none: " + codes(err)
}

// TestAndFailsOnTheEarliestFailure: And fails as soon as one child fails
// (without waiting for the others), and when several have failed, with the
// failure that came first, whatever its position in the And.
func TestAndFailsOnTheEarliestFailure(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := failingRegistry()
		check := func(err error) (string, error) {
			if err == nil {
				return "", errors.New("And of failing tasks did not fail")
			}
			if !errors.Is(err, weft.ErrTaskFailed) {
				return "", err
			}
			return failedMethod(err), nil
		}
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, string]("Joiner", "run"), func(ctx weft.Context, n int) (string, error) {
			early := weft.Dispatch(ctx, failEarly, n) // its result comes first
			late := weft.Dispatch(ctx, failLate, n)
			timer := weft.Timer(ctx, time.Hour) // never awaited to the end
			w, err := weft.And(timer, late, early).Await()
			if w != -1 {
				return "", errors.New("And has a winner")
			}
			return check(err)
		}))
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, string]("Joiner", "afterBoth"), func(ctx weft.Context, n int) (string, error) {
			early := weft.Dispatch(ctx, failEarly, n)
			if err := weft.Sleep(ctx, 30*time.Second); err != nil { // early fails meanwhile
				return "", err
			}
			late := weft.Dispatch(ctx, failLate, n)
			if err := weft.Sleep(ctx, 30*time.Second); err != nil { // and late
				return "", err
			}
			_, err := weft.And(weft.Timer(ctx, time.Hour), late, early).Await()
			return check(err)
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Joiner", "run", "j1", 1, nil, nil)
		dispatchSim(s, "Joiner", "afterBoth", "j2", 1, nil, nil)
		s.Run() // no timer fired: And did not wait for it
		completedWith(t, s, "j1", `"early"`)
		s.Advance(time.Minute)
		completedWith(t, s, "j2", `"early"`)
	})
}

// TestAndValues: And completes with every value in order; its Await
// returns -1.
func TestAndValues(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, []int]("Joiner", "run"), func(ctx weft.Context, n int) ([]int, error) {
			a, b := weft.Dispatch(ctx, add1, n), weft.Dispatch(ctx, add1, n*10)
			w, err := weft.And(a, b).Await()
			if err != nil || w != -1 {
				return nil, errors.New("And of completed tasks failed or has a winner")
			}
			va, _ := a.Await() // decided: returns at once
			vb, _ := b.Await()
			all, err := weft.AwaitAll([]*weft.Deferred[int]{b, a})
			return append([]int{va, vb}, all...), err
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Joiner", "run", "j1", 2, nil, nil)
		s.Run()
		completedWith(t, s, "j1", "[3,21,21,3]")
	})
}

// TestOrOfFailuresReturnsTheLastFailure: Or fails only once every child
// has failed, with the failure that came last (here the first child).
func TestOrOfFailuresReturnsTheLastFailure(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := failingRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, string]("Racer", "run"), func(ctx weft.Context, n int) (string, error) {
			early := weft.Dispatch(ctx, failEarly, n)
			slow := weft.Dispatch(ctx, failSlow, n) // fails again a minute later
			// Let the first failure be recorded in an earlier workflow task.
			if err := weft.Sleep(ctx, 30*time.Second); err != nil {
				return "", err
			}
			w, err := weft.Or(slow, early).Await()
			if err == nil || w != -1 {
				return "", errors.New("Or of failing tasks did not fail")
			}
			return failedMethod(err), nil
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Racer", "run", "r1", 1, nil, nil)
		s.Run()
		s.Advance(30 * time.Second)
		if ended(s, "r1") {
			t.Fatal("Or failed before its last child failed")
		}
		s.RunAll()
		completedWith(t, s, "r1", `"slow"`)
	})
}

// TestOrWinner: Or completes with the first child to complete, ignoring
// failures of the others.
func TestOrWinner(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := failingRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, []int]("Racer", "run"), func(ctx weft.Context, n int) ([]int, error) {
			w, err := weft.Or(weft.Dispatch(ctx, failEarly, n), weft.Timer(ctx, time.Hour), weft.Dispatch(ctx, add1, n)).Await()
			if err != nil {
				return nil, err
			}
			w2, err := weft.Or(weft.Timer(ctx, time.Hour), weft.Dispatch(ctx, failEarly, n)).Await()
			if err != nil {
				return nil, err
			}
			return []int{w, w2}, nil
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Racer", "run", "r1", 1, nil, nil)
		s.RunAll()
		completedWith(t, s, "r1", "[2,0]")
	})
}

// TestEmptyCombinations: AwaitAll of nothing is an empty result without a
// step; And or Or of nothing is a bad-input error.
func TestEmptyCombinations(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Empty", "run"), func(ctx weft.Context, n int) (int, error) {
			vals, err := weft.AwaitAll[int](nil)
			if err != nil || len(vals) != 0 {
				return 0, errors.New("AwaitAll(nil) did not return an empty result")
			}
			if _, err := weft.And().Await(); !errors.Is(err, weft.ErrBadInput) {
				return 0, errors.New("And() did not fail with bad input")
			}
			if _, err := weft.Or().Await(); !errors.Is(err, weft.ErrBadInput) {
				return 0, errors.New("Or() did not fail with bad input")
			}
			return weft.Call(ctx, add1, n)
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Empty", "run", "e1", 1, nil, nil)
		s.Run()
		completedWith(t, s, "e1", "2")
		if n := s.Count("weft.executor.ExecuteTask"); n != 1 {
			t.Fatalf("%d tasks executed, want 1", n)
		}
	})
}

// TestTimers: Timer, TimerUntil and Sleep fire on the fake clock exactly
// when due, with their due instant as value.
func TestTimers(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[time.Time, []time.Time]("Timed", "run"), func(ctx weft.Context, until time.Time) ([]time.Time, error) {
			a, err := weft.Timer(ctx, 90*time.Minute).Await()
			if err != nil {
				return nil, err
			}
			b, err := weft.TimerUntil(ctx, until).Await()
			if err != nil {
				return nil, err
			}
			if err := weft.Sleep(ctx, time.Minute); err != nil {
				return nil, err
			}
			return []time.Time{a, b, weft.Now(ctx)}, nil
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Timed", "run", "t1", sim.Epoch.Add(3*time.Hour), nil, nil)
		s.Run()
		steps := []struct {
			advance time.Duration
			done    bool
		}{
			{89 * time.Minute, false}, {time.Minute, false}, // the Timer fires at 1h30
			{89 * time.Minute, false}, {time.Minute, false}, // TimerUntil at 3h
			{59 * time.Second, false}, {time.Second, true}, // Sleep at 3h01
		}
		for _, st := range steps {
			s.Advance(st.advance)
			if ended(s, "t1") != st.done {
				t.Fatalf("at %v: ended = %v, want %v", s.Now.Sub(sim.Epoch), !st.done, st.done)
			}
		}
		var got []time.Time
		if err := jsonUnmarshal(onlyOutcome(t, s, "t1").Value, &got); err != nil {
			t.Fatal(err)
		}
		want := []time.Time{sim.Epoch.Add(90 * time.Minute), sim.Epoch.Add(3 * time.Hour), sim.Epoch.Add(3*time.Hour + time.Minute)}
		for i := range want {
			if len(got) != len(want) || !got[i].Equal(want[i]) {
				t.Fatalf("timer values = %v, want %v", got, want)
			}
		}
	})
}

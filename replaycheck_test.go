package weft_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var double = weft.NewTask[int, int]("Calc", "double")

// checkRegistry has the tasks the replay-check workflows call; the tasks
// never run during a check, only while recording.
func checkRegistry() *weft.Registry {
	r := calcRegistry()
	weft.MustRegister(weft.RegisterTask(r, double, func(_ weft.TaskContext, n int) (int, error) { return 2 * n, nil }))
	return r
}

// record runs fn as workflow name ("run") on a sim from input 1, lets
// advance move the clock, and returns the stored state of instance id.
func record(t *testing.T, name string, fn func(weft.Context, int) (int, error), advance time.Duration, opts ...weft.WorkflowOption) *core.WorkflowState {
	t.Helper()
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int](name, "run"), fn, opts...))
	s := sim.New(t, r, sim.Options{})
	dispatchSim(s, name, "run", "i1", 1, nil, nil)
	s.Run()
	if advance > 0 {
		s.Advance(advance)
	}
	st := s.State("i1")
	if st == nil {
		t.Fatal("no state recorded")
	}
	if len(s.DeadLetters) > 0 {
		t.Fatalf("dead letters while recording: %+v", s.DeadLetters)
	}
	return st
}

// check replays st with fn registered under the same name and version.
func check(t *testing.T, st *core.WorkflowState, fn func(weft.Context, int) (int, error), opts ...weft.WorkflowOption) *weft.ReplayReport {
	t.Helper()
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int](st.WorkflowName, "run"), fn, opts...))
	before, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.CheckReplay(st)
	after, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatalf("the check modified the state:\n%s\n%s", before, after)
	}
	t.Logf("report:\n%s", rep.Verbose())
	return rep
}

// oneProblem checks that rep has exactly one problem, of kind at pos.
func oneProblem(t *testing.T, rep *weft.ReplayReport, kind weft.ReplayProblemKind, pos int, breaks bool) weft.ReplayProblem {
	t.Helper()
	if len(rep.Problems) != 1 {
		t.Fatalf("%d problems, want 1 %s:\n%s", len(rep.Problems), kind, rep)
	}
	p := rep.Problems[0]
	if p.Kind != kind || p.Position != pos || p.Breaks != breaks {
		t.Fatalf("problem %s at position %d (breaks %v), want %s at %d (breaks %v):\n%s", p.Kind, p.Position, p.Breaks, kind, pos, breaks, p)
	}
	if p.Workflow == "" || p.WorkflowID != "i1" || p.MethodRunID != "i1" || p.Method != "run" || p.Explanation == "" {
		t.Fatalf("problem does not say where it is: %#v", p)
	}
	return p
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s %q does not contain %q", what, s, w)
		}
	}
}

// replayed checks the positions the checker went through.
func replayed(t *testing.T, rep *weft.ReplayReport, want, history int) {
	t.Helper()
	got, rec := rep.Positions()
	if got != want || rec != history {
		t.Fatalf("replayed %d of %d positions, want %d of %d:\n%s", got, rec, want, history, rep.Verbose())
	}
}

// twoSteps: positions 0 task add1, 1 await, 2 timer 1h, 3 await, 4 task
// add1, 5 await, 6 timer 1h, 7 await. Recorded after one hour, it waits at
// position 7.
func twoSteps(task weft.TaskRef[int, int], input func(int) int, first time.Duration, last bool) func(weft.Context, int) (int, error) {
	return func(ctx weft.Context, n int) (int, error) {
		a, err := weft.Call(ctx, task, input(n))
		if err != nil {
			return 0, err
		}
		if err := weft.Sleep(ctx, first); err != nil {
			return 0, err
		}
		b, err := weft.Call(ctx, add1, a)
		if err != nil {
			return 0, err
		}
		if last {
			return b, weft.Sleep(ctx, time.Hour)
		}
		return b, nil
	}
}

func same(n int) int { return n }

func TestCheckReplayUnchanged(t *testing.T) {
	t.Parallel()
	orig := twoSteps(add1, same, time.Hour, true)
	st := record(t, "Unchanged", orig, time.Hour)
	rep := check(t, st, orig)
	if !rep.OK() {
		t.Fatalf("unchanged code reported:\n%s", rep)
	}
	replayed(t, rep, 8, 8)
	if rep.States != 1 || rep.Ended != 0 || len(rep.Runs) != 1 || rep.Runs[0].Outcome != "waits at its current step" {
		t.Fatalf("report: %+v", rep)
	}
	contains(t, "report", rep.String(), "1 state, 1 method run replayed: 8 of 8", "OK:")
	// Strict comparison is the checker's own: an unchanged workflow in
	// strict mode passes too.
	if rep := check(t, st, orig, weft.WithCheckMode(core.CheckStrict)); !rep.OK() {
		t.Fatalf("unchanged strict code reported:\n%s", rep)
	}
}

func TestCheckReplayTaskReplaced(t *testing.T) {
	t.Parallel()
	st := record(t, "Replaced", twoSteps(add1, same, time.Hour, true), time.Hour)
	rep := check(t, st, twoSteps(double, same, time.Hour, true))
	p := oneProblem(t, rep, weft.ReplayCommandChanged, 0, true)
	contains(t, "recorded", p.Recorded, "task Calc.add1", "input 1 (sha256 ")
	contains(t, "now", p.Now, "task Calc.double", "input 1 (sha256 ")
	if p.Mode != core.CheckSimple || p.Version != 0 {
		t.Errorf("mode %q version %d, want simple 0", p.Mode, p.Version)
	}
	replayed(t, rep, 0, 8)
	contains(t, "report", rep.String(), "command-changed", "BREAKS", "FAIL: 1 problem")

	// Check mode none lets the instance go on: reported, not breaking, and
	// the replay continues to the end.
	rep = check(t, st, twoSteps(double, same, time.Hour, true), weft.WithCheckMode(core.CheckNone))
	oneProblem(t, rep, weft.ReplayCommandChanged, 0, false)
	replayed(t, rep, 8, 8)
}

func TestCheckReplayInputChanged(t *testing.T) {
	t.Parallel()
	plus10 := func(n int) int { return n + 10 }
	st := record(t, "Input", twoSteps(add1, same, time.Hour, true), time.Hour)

	// Simple (the default) compares names: reported, not breaking; the
	// replay goes on with the recorded command.
	rep := check(t, st, twoSteps(add1, plus10, time.Hour, true))
	p := oneProblem(t, rep, weft.ReplayArgumentsChanged, 0, false)
	contains(t, "explanation", p.Explanation, "input 1 (sha256 ", "→ 11 (sha256 ", "Check mode simple compares only")
	replayed(t, rep, 8, 8)

	// Strict breaks on it, and the replay stops there.
	rep = check(t, st, twoSteps(add1, plus10, time.Hour, true), weft.WithCheckMode(core.CheckStrict))
	p = oneProblem(t, rep, weft.ReplayArgumentsChanged, 0, true)
	if p.Mode != core.CheckStrict {
		t.Errorf("mode %q, want strict", p.Mode)
	}
	replayed(t, rep, 0, 8)
}

func TestCheckReplayTimerDurationChanged(t *testing.T) {
	t.Parallel()
	st := record(t, "Timer", twoSteps(add1, same, time.Hour, true), time.Hour)
	rep := check(t, st, twoSteps(add1, same, 2*time.Hour, true))
	p := oneProblem(t, rep, weft.ReplayArgumentsChanged, 2, false)
	contains(t, "recorded", p.Recorded, "timer 1h0m0s")
	contains(t, "now", p.Now, "timer 2h0m0s")
	contains(t, "explanation", p.Explanation, "duration 1h0m0s → 2h0m0s")
	replayed(t, rep, 8, 8)

	rep = check(t, st, twoSteps(add1, same, 2*time.Hour, true), weft.WithCheckMode(core.CheckStrict))
	oneProblem(t, rep, weft.ReplayArgumentsChanged, 2, true)
	replayed(t, rep, 2, 8)
}

func TestCheckReplayCommandRemovedAtTheEnd(t *testing.T) {
	t.Parallel()
	st := record(t, "Shortened", twoSteps(add1, same, time.Hour, true), time.Hour)
	rep := check(t, st, twoSteps(add1, same, time.Hour, false)) // the last sleep is gone
	p := oneProblem(t, rep, weft.ReplayHistoryLeft, 6, false)
	contains(t, "recorded", p.Recorded, "6: timer 1h0m0s", "7: await timer 1h0m0s (position 6)")
	contains(t, "now", p.Now, "the method returns")
	replayed(t, rep, 6, 8)
}

// parallel: 0 task add1, 1 task double, 2 await and(0, 1), 3 timer, 4
// await (waiting).
func parallel(withDouble bool) func(weft.Context, int) (int, error) {
	return func(ctx weft.Context, n int) (int, error) {
		ds := []*weft.Deferred[int]{weft.Dispatch(ctx, add1, n)}
		if withDouble {
			ds = append(ds, weft.Dispatch(ctx, double, n))
		}
		vs, err := weft.AwaitAll(ds)
		if err != nil {
			return 0, err
		}
		return vs[0], weft.Sleep(ctx, time.Hour)
	}
}

func TestCheckReplayCommandRemoved(t *testing.T) {
	t.Parallel()
	st := record(t, "Removed", parallel(true), 0)
	rep := check(t, st, parallel(false))
	p := oneProblem(t, rep, weft.ReplayCommandMissing, 1, true)
	contains(t, "recorded", p.Recorded, "task Calc.double")
	contains(t, "now", p.Now, "await and(task Calc.add1 (position 0))")
	replayed(t, rep, 1, 5)
}

func TestCheckReplayCommandAddedBeforeAStep(t *testing.T) {
	t.Parallel()
	st := record(t, "Added", parallel(false), 0) // 0 task add1, 1 await, 2 timer, 3 await
	rep := check(t, st, parallel(true))
	p := oneProblem(t, rep, weft.ReplayCommandAdded, 1, true)
	contains(t, "recorded", p.Recorded, "await and(task Calc.add1 (position 0))")
	contains(t, "now", p.Now, "task Calc.double input 1")
	replayed(t, rep, 1, 4)
}

// awaitBoth dispatches add1 then double and awaits them in the given
// order, then sleeps.
func awaitBoth(doubleFirst bool) func(weft.Context, int) (int, error) {
	return func(ctx weft.Context, n int) (int, error) {
		a, d := weft.Dispatch(ctx, add1, n), weft.Dispatch(ctx, double, n)
		first, second := a, d
		if doubleFirst {
			first, second = d, a
		}
		x, err := first.Await()
		if err != nil {
			return 0, err
		}
		y, err := second.Await()
		if err != nil {
			return 0, err
		}
		return x + y, weft.Sleep(ctx, time.Hour)
	}
}

func TestCheckReplayStepReordered(t *testing.T) {
	t.Parallel()
	st := record(t, "Reordered", awaitBoth(false), 0)
	if rep := check(t, st, awaitBoth(false)); !rep.OK() {
		t.Fatalf("unchanged:\n%s", rep)
	}
	rep := check(t, st, awaitBoth(true))
	p := oneProblem(t, rep, weft.ReplayStepChanged, 2, true)
	contains(t, "recorded", p.Recorded, "await task Calc.add1 (position 0)")
	contains(t, "now", p.Now, "await task Calc.double (position 1)")
	replayed(t, rep, 2, rep.Runs[0].History)

	// An Or whose children swap is a change too (the winner is reported
	// by position).
	or := func(swap bool) func(weft.Context, int) (int, error) {
		return func(ctx weft.Context, n int) (int, error) {
			a, tm := weft.Dispatch(ctx, add1, n), weft.Timer(ctx, time.Minute)
			g := weft.Or(a, tm)
			if swap {
				g = weft.Or(tm, a)
			}
			if _, err := g.Await(); err != nil {
				return 0, err
			}
			return 0, weft.Sleep(ctx, time.Hour)
		}
	}
	st = record(t, "OrSwap", or(false), 0)
	p = oneProblem(t, check(t, st, or(true)), weft.ReplayStepChanged, 2, true)
	contains(t, "recorded", p.Recorded, "await or(task Calc.add1 (position 0), timer 1m0s (position 1))")
	contains(t, "now", p.Now, "await or(timer 1m0s (position 1), task Calc.add1 (position 0))")
}

// decidedAtOnce: 0 task add1, 1 timer, 2 await or, 3 (nothing recorded:
// awaiting the completed task is decided at once), 4 timer 1h, 5 await.
func decidedAtOnce(variant string, inlineCalls *atomic.Int32) func(weft.Context, int) (int, error) {
	return func(ctx weft.Context, n int) (int, error) {
		a := weft.Dispatch(ctx, add1, n)
		if _, err := weft.Or(a, weft.Timer(ctx, time.Minute)).Await(); err != nil {
			return 0, err
		}
		var v int
		var err error
		switch variant {
		case "await":
			v, err = a.Await()
		case "task":
			v, err = weft.Call(ctx, double, n)
		case "inline":
			v, err = weft.Inline(ctx, func() (int, error) { return int(inlineCalls.Add(1)), nil })
		}
		if err != nil {
			return 0, err
		}
		return v, weft.Sleep(ctx, time.Hour)
	}
}

func TestCheckReplayAwaitDecidedAtOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	st := record(t, "AtOnce", decidedAtOnce("await", &calls), 0)
	if n := len(st.Method("i1").Steps); n != 1 || st.Method("i1").Current.Position != 5 {
		t.Fatalf("history: %d past steps, current at %d; want 1 and 5 (position 3 decided at once)", n, st.Method("i1").Current.Position)
	}
	rep := check(t, st, decidedAtOnce("await", &calls))
	if !rep.OK() {
		t.Fatalf("unchanged:\n%s", rep)
	}
	replayed(t, rep, 6, 6)

	// A task where the await was decided at once: the engine would not
	// notice and would dispatch it.
	rep = check(t, st, decidedAtOnce("task", &calls))
	p := oneProblem(t, rep, weft.ReplayCommandAdded, 3, false)
	contains(t, "now", p.Now, "task Calc.double")
	contains(t, "explanation", p.Explanation, "does not notice")

	// An inline there is reported without running its function.
	rep = check(t, st, decidedAtOnce("inline", &calls))
	p = oneProblem(t, rep, weft.ReplayCommandAdded, 3, false)
	contains(t, "now", p.Now, "inline side effect")
	if n := calls.Load(); n != 0 {
		t.Fatalf("the inline function ran %d times during the check", n)
	}
}

// TestCheckReplayStopsAtTheEndOfHistory: a state whose current step is
// decided (its workflow task is in flight) is replayed up to the end of
// its history; the new code after that point (an inline, a task) is
// neither run nor reported.
func TestCheckReplayStopsAtTheEndOfHistory(t *testing.T) {
	t.Parallel()
	orig := func(ctx weft.Context, n int) (int, error) {
		v, err := weft.Call(ctx, add1, n)
		if err != nil {
			return 0, err
		}
		return v, weft.Sleep(ctx, time.Hour)
	}
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("InFlight", "run"), orig))
	s := sim.New(t, r, sim.Options{})
	dispatchSim(s, "InFlight", "run", "i1", 1, nil, nil)
	s.Run()
	// The timer fires; stop as soon as its workflow task is dispatched.
	s.Now = s.Now.Add(time.Hour)
	s.Queue, s.Delayed = append(s.Queue, s.Delayed...), nil
	var st *core.WorkflowState
	for s.Step() {
		if st = s.State("i1"); st.Running != nil {
			break
		}
	}
	if m := st.Method("i1"); st.Running == nil || m.Current != nil || len(m.Steps) != 2 || !m.Steps[1].Decided() {
		t.Fatalf("no workflow task in flight after the timer: %+v", st)
	}
	var calls atomic.Int32
	rep := check(t, st, func(ctx weft.Context, n int) (int, error) {
		v, err := orig(ctx, n)
		if err != nil {
			return 0, err
		}
		if _, err := weft.Inline(ctx, func() (int, error) { return int(calls.Add(1)), nil }); err != nil {
			return 0, err
		}
		return weft.Call(ctx, double, v)
	})
	if !rep.OK() || calls.Load() != 0 {
		t.Fatalf("inline calls %d, report:\n%s", calls.Load(), rep)
	}
	replayed(t, rep, 4, 4)
	if o := rep.Runs[0].Outcome; o != "reached the end of its history" {
		t.Fatalf("outcome %q", o)
	}
}

func TestCheckReplayUnknownVersionWorkflowMethod(t *testing.T) {
	t.Parallel()
	orig := twoSteps(add1, same, time.Hour, true)
	st := record(t, "Versioned", orig, 0, weft.WithVersion(1))
	if !st.Pinned || st.Version != 1 {
		t.Fatalf("state not pinned to version 1: %+v", st)
	}
	ref := weft.NewWorkflow[int, int]("Versioned", "run")

	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, ref, orig, weft.WithVersion(2)))
	rep := r.CheckReplay(st)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayUnknownVersion || rep.Problems[0].Version != 1 || len(rep.Runs) != 0 {
		t.Fatalf("report:\n%s", rep)
	}
	contains(t, "explanation", rep.Problems[0].Explanation, "pinned to code version 1", "registered: [2]")

	// Both versions registered: the instance replays with version 1.
	weft.MustRegister(weft.RegisterWorkflow(r, ref, twoSteps(double, same, time.Hour, true), weft.WithVersion(1)))
	rep = r.CheckReplay(st)
	oneProblem(t, rep, weft.ReplayCommandChanged, 0, true)
	if rep.Problems[0].Version != 1 {
		t.Fatalf("checked with version %d, want 1", rep.Problems[0].Version)
	}

	rep = checkRegistry().CheckReplay(st)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayUnknownWorkflow {
		t.Fatalf("unknown workflow:\n%s", rep)
	}
	r = checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Versioned", "other"), orig, weft.WithVersion(1)))
	rep = r.CheckReplay(st)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayUnknownMethod {
		t.Fatalf("unknown method:\n%s", rep)
	}
}

func TestCheckReplayInputTypeChanged(t *testing.T) {
	t.Parallel()
	st := record(t, "Typed", twoSteps(add1, same, time.Hour, true), 0)
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[string, int]("Typed", "run"), func(weft.Context, string) (int, error) { return 0, nil }))
	rep := r.CheckReplay(st)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayInputMismatch || !rep.Problems[0].Breaks {
		t.Fatalf("report:\n%s", rep)
	}
}

type counterV1 struct{ Count int }
type counterV2 struct{ Count string }

func TestCheckReplayPropertiesAndPanics(t *testing.T) {
	t.Parallel()
	ref := weft.NewWorkflow[int, int]("Counter", "run")
	body := func(bump func()) func(weft.Context, int) (int, error) {
		return func(ctx weft.Context, n int) (int, error) {
			bump()
			if _, err := weft.Call(ctx, add1, n); err != nil {
				return 0, err
			}
			return 0, weft.Sleep(ctx, time.Hour)
		}
	}
	r := checkRegistry()
	weft.MustRegister(weft.RegisterMethod(r, ref, func(s *counterV1, ctx weft.Context, n int) (int, error) {
		return body(func() { s.Count++ })(ctx, n)
	}))
	s := sim.New(t, r, sim.Options{})
	dispatchSim(s, "Counter", "run", "i1", 1, nil, nil)
	s.Run()
	st := s.State("i1")
	if rep := r.CheckReplay(st); !rep.OK() {
		t.Fatalf("unchanged:\n%s", rep)
	}

	r2 := checkRegistry()
	weft.MustRegister(weft.RegisterMethod(r2, ref, func(s *counterV2, ctx weft.Context, n int) (int, error) {
		return body(func() { s.Count += "x" })(ctx, n)
	}))
	rep := r2.CheckReplay(st)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayCodeFailed || rep.Problems[0].Position != 1 {
		t.Fatalf("properties that no longer decode:\n%s", rep)
	}
	contains(t, "explanation", rep.Problems[0].Explanation, "restore workflow properties")

	r3 := checkRegistry()
	weft.MustRegister(weft.RegisterMethod(r3, ref, func(s *counterV1, ctx weft.Context, n int) (int, error) {
		return body(func() { panic("boom") })(ctx, n)
	}))
	rep = r3.CheckReplay(st)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayCodeFailed || !strings.Contains(rep.Problems[0].Explanation, "boom") {
		t.Fatalf("panic:\n%s", rep)
	}
}

func TestCheckReplayJSON(t *testing.T) {
	t.Parallel()
	orig := twoSteps(add1, same, time.Hour, true)
	live := record(t, "Json", orig, 0)
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Json", "run"), orig))
	s := sim.New(t, r, sim.Options{})
	dispatchSim(s, "Json", "run", "done", 1, nil, nil)
	s.RunAll()
	ended := s.State("done")
	if ended == nil || ended.Result == nil {
		t.Fatalf("not ended: %+v", ended)
	}
	one, _ := json.MarshalIndent(live, "", "  ")
	list, _ := json.Marshal([]*core.WorkflowState{live, ended})

	rep := r.CheckReplayJSON("one.json", one)
	if !rep.OK() || rep.States != 1 || len(rep.Runs) != 1 || rep.Runs[0].Source != "one.json" {
		t.Fatalf("one state:\n%s", rep.Verbose())
	}
	rep = r.CheckReplayJSON("list.json", list)
	if !rep.OK() || rep.States != 2 || rep.Ended != 1 || len(rep.Runs) != 1 || rep.Runs[0].Source != "list.json[0]" {
		t.Fatalf("list:\n%s", rep.Verbose())
	}
	contains(t, "summary", rep.Summary(), "2 states", "1 result record skipped")

	if rep := r.CheckReplay(nil); len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayUndecodableState || rep.States != 1 {
		t.Errorf("nil state:\n%s", rep)
	}
	for name, data := range map[string]string{"garbage": "{", "future": `{"v":99,"workflowId":"x"}`, "badlist": "[1"} {
		rep := r.CheckReplayJSON(name, []byte(data))
		if len(rep.Problems) != 1 || rep.Problems[0].Kind != weft.ReplayUndecodableState || rep.Problems[0].Source != name {
			t.Errorf("%s:\n%s", name, rep)
		}
	}
}

// TestCheckReplayReturnedRun: a run that returned but is kept (a task it
// dispatched is still running) is replayed too; code that now goes on
// after the recorded return is reported, without breaking.
func TestCheckReplayReturnedRun(t *testing.T) {
	t.Parallel()
	orig := func(ctx weft.Context, n int) (int, error) {
		weft.Dispatch(ctx, add1, n) // not awaited
		return n, nil
	}
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Returned", "run"), orig))
	s := sim.New(t, r, sim.Options{})
	dispatchSim(s, "Returned", "run", "i1", 1, nil, nil)
	var st *core.WorkflowState
	for s.Step() {
		if st = s.State("i1"); st != nil && st.Method("i1") != nil && st.Method("i1").Returned {
			break
		}
	}
	if st == nil || st.Method("i1") == nil || !st.Method("i1").Returned {
		t.Fatalf("no returned run kept: %+v", st)
	}
	rep := check(t, st, orig)
	if !rep.OK() || rep.Runs[0].Outcome != "the method returns" {
		t.Fatalf("unchanged:\n%s", rep.Verbose())
	}
	replayed(t, rep, 1, 1)
	rep = check(t, st, func(ctx weft.Context, n int) (int, error) {
		weft.Dispatch(ctx, add1, n)
		return n, weft.Sleep(ctx, time.Minute)
	})
	p := oneProblem(t, rep, weft.ReplayCodeContinues, 1, false)
	contains(t, "now", p.Now, "timer 1m0s")
}

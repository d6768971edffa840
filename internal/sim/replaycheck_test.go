package sim_test

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var (
	checkedSimple = weft.NewWorkflow[int, int]("CheckedSimple", "run")
	checkedStrict = weft.NewWorkflow[int, int]("CheckedStrict", "run")
)

// deployed is a workflow whose code changes with variant: 0 is the code
// that recorded the history, the others are deploys. The original code
// records 0 task a, 1 task a, 2 await, 3 await, 4 timer 1h, 5 await, then
// 6 task a, 7 await once the timer fires.
func deployed(variant *atomic.Value) func(weft.Context, int) (int, error) {
	return func(ctx weft.Context, n int) (int, error) {
		v := variant.Load().(string)
		first, in := stepA, n
		switch v {
		case "task replaced":
			first = stepB
		case "input changed":
			in = n + 5
		}
		x := weft.Dispatch(ctx, first, in)
		y := weft.Dispatch(ctx, stepA, n+1)
		if v == "command added" {
			weft.Dispatch(ctx, stepB, n)
		}
		if v == "steps reordered" {
			x, y = y, x
		}
		a, err := x.Await()
		if err != nil {
			return 0, err
		}
		b, err := y.Await()
		if err != nil {
			return 0, err
		}
		sleep := time.Hour
		if v == "timer changed" {
			sleep = 2 * time.Hour
		}
		if err := weft.Sleep(ctx, sleep); err != nil {
			return 0, err
		}
		return weft.Call(ctx, stepA, a+b)
	}
}

var positionRE = regexp.MustCompile(`at position (\d+)`)

// TestReplayCheckAgreesWithTheEngine records a history, checks each deploy
// with CheckReplay, then lets the engine replay the same deploy: a problem
// the checker says breaks the instance fails its workflow task with a
// workflow-changed error at the reported position; one it says does not
// break lets the instance complete. After a breaking deploy, the checker
// validates the fix before RetryWorkflowTask resumes the instance.
func TestReplayCheckAgreesWithTheEngine(t *testing.T) {
	for _, mode := range []core.CheckMode{core.CheckSimple, core.CheckStrict} {
		for _, change := range []string{"task replaced", "input changed", "command added", "steps reordered", "timer changed"} {
			t.Run(fmt.Sprintf("%s/%s", mode, change), func(t *testing.T) {
				var variant atomic.Value
				variant.Store("")
				reg := weft.NewRegistry()
				weft.MustRegister(weft.RegisterTask(reg, stepA, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
				weft.MustRegister(weft.RegisterTask(reg, stepB, func(_ weft.TaskContext, n int) (int, error) { return n + 100, nil }))
				ref := checkedSimple
				if mode == core.CheckStrict {
					ref = checkedStrict
				}
				weft.MustRegister(weft.RegisterWorkflow(reg, ref, deployed(&variant), weft.WithCheckMode(mode)))
				s := sim.New(t, reg, sim.Options{ReplayEveryTask: true})
				dispatch(s, ref.Workflow(), "run", "w1", 1)
				s.Run()
				st := s.State("w1")
				if rep := reg.CheckReplay(st); !rep.OK() {
					t.Fatalf("the recording code reports:\n%s", rep)
				} else if got, rec := rep.Positions(); got != 6 || rec != 6 {
					t.Fatalf("replayed %d of %d positions, want 6 of 6", got, rec)
				}

				variant.Store(change)
				rep := reg.CheckReplay(st)
				if len(rep.Problems) != 1 {
					t.Fatalf("%d problems, want 1:\n%s", len(rep.Problems), rep)
				}
				p := rep.Problems[0]
				t.Logf("%s", p)

				s.RunAll() // the timer fires: the engine replays the deploy
				outs := s.Outcomes("w1")
				if len(outs) != 1 {
					t.Fatalf("outcomes %+v", outs)
				}
				if !p.Breaks {
					if outs[0].Kind != core.MethodCompleted {
						t.Fatalf("the checker says the instance goes on, the engine: %s %v", outs[0].Kind, outs[0].Error)
					}
					return
				}
				var err error = outs[0].Error
				if outs[0].Kind != core.MethodFailed || !errors.Is(err, weft.ErrWorkflowChanged) {
					t.Fatalf("the checker says the instance breaks at %d, the engine: %s %v", p.Position, outs[0].Kind, outs[0].Error)
				}
				m := positionRE.FindStringSubmatch(err.Error())
				if m == nil || m[1] != strconv.Itoa(p.Position) {
					t.Fatalf("the checker reports position %d, the engine: %v", p.Position, err)
				}

				// The instance keeps its state with the failure; the checker
				// still reports the deploy, and approves the fix.
				st = s.State("w1")
				if st.Method("w1").Failure == nil {
					t.Fatalf("no failure recorded: %+v", st.Method("w1"))
				}
				if rep := reg.CheckReplay(st); len(rep.Problems) != 1 || rep.Problems[0].Position != p.Position {
					t.Fatalf("after the failure:\n%s", rep)
				}
				variant.Store("")
				if rep := reg.CheckReplay(st); !rep.OK() {
					t.Fatalf("the fix reports:\n%s", rep)
				}
				s.Send(core.Topic(core.PrefixWorkflowCmd, ref.Workflow()), "w1", &core.RetryWorkflowTask{WorkflowID: "w1", Workflow: ref.Workflow()})
				s.Send(core.Topic(core.PrefixWorkflowCmd, ref.Workflow()), "w1", &core.WaitWorkflow{WorkflowID: "w1", Workflow: ref.Workflow(), MethodRunID: "w1", Client: "c1"})
				s.RunAll()
				outs = s.Outcomes("w1")
				if last := outs[len(outs)-1]; last.Kind != core.MethodCompleted || string(last.Value) != "6" {
					t.Fatalf("after the fix: %s %s %v", last.Kind, last.Value, last.Error)
				}
			})
		}
	}
}

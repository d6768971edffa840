package sim_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var (
	stepA   = weft.NewTask[int, int]("Steps", "a")
	stepB   = weft.NewTask[int, int]("Steps", "b")
	changer = weft.NewWorkflow[int, int]("Changer", "run")
)

// TestWorkflowChangedThenFixed runs a workflow until it sleeps, "deploys"
// code that calls a different task at an already recorded position, and
// checks that the replay fails with a typed workflow-changed error while
// the state is kept; after the code is fixed, RetryWorkflowTask resumes the
// same instance to completion.
func TestWorkflowChangedThenFixed(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var variant atomic.Int32 // 0: original, 1: changed
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, stepA, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
			weft.MustRegister(weft.RegisterTask(reg, stepB, func(_ weft.TaskContext, n int) (int, error) { return n + 100, nil }))
			weft.MustRegister(weft.RegisterWorkflow(reg, changer, func(ctx weft.Context, n int) (int, error) {
				first := stepA
				if variant.Load() == 1 {
					first = stepB // same position, different task: a breaking change
				}
				v, err := weft.Call(ctx, first, n)
				if err != nil {
					return 0, err
				}
				if err := weft.Sleep(ctx, time.Hour); err != nil {
					return 0, err
				}
				return weft.Call(ctx, stepA, v)
			}))
			s := sim.New(t, reg, sim.Options{FastPath: fast, ReplayEveryTask: true})
			dispatch(s, "Changer", "run", "w1", 1)
			s.Run()
			if st := s.State("w1"); st == nil || st.Result != nil {
				t.Fatalf("the workflow should be sleeping: %+v", st)
			}

			variant.Store(1)
			s.RunAll() // the timer fires; the replay meets the changed code
			outs := s.Outcomes("w1")
			if len(outs) != 1 || outs[0].Kind != core.MethodFailed {
				t.Fatalf("outcomes = %+v, want one failure", outs)
			}
			var err error = outs[0].Error
			if !errors.Is(err, weft.ErrWorkflowChanged) || !errors.Is(err, weft.ErrWorkflowFailed) {
				t.Fatalf("error = %v, want a workflow failure caused by a workflow change", err)
			}
			var we *weft.Error
			if !errors.As(err, &we) || we.WorkflowID != "w1" {
				t.Fatalf("error does not name the workflow: %#v", err)
			}
			st := s.State("w1")
			if st == nil || st.Result != nil || st.Method("w1") == nil || st.Method("w1").Failure == nil {
				t.Fatalf("the state must be kept with the failure recorded: %+v", st)
			}

			variant.Store(0) // the fix is deployed
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Changer"), "w1", &core.RetryWorkflowTask{WorkflowID: "w1", Workflow: "Changer"})
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Changer"), "w1", &core.WaitWorkflow{WorkflowID: "w1", Workflow: "Changer", MethodRunID: "w1", Client: "c1"})
			s.RunAll()
			outs = s.Outcomes("w1")
			last := outs[len(outs)-1]
			if last.Kind != core.MethodCompleted || string(last.Value) != "3" {
				t.Fatalf("after the fix: %+v %v, want completed 3", last, last.Error)
			}
			if st := s.State("w1"); st == nil || st.Result == nil {
				t.Fatalf("state = %+v, want a result record", st)
			}
		})
	}
}

var (
	orChannel = weft.NewChannel[string]("Racer", "answer")
	racer     = weft.NewWorkflow[int, []int]("Racer", "run")
)

// TestOrWinnerStableAcrossReplays races a signal against a timer, then
// keeps the workflow going for several more steps (each a replay of the Or)
// while the loser also completes. Every replay must see the same winner.
func TestOrWinnerStableAcrossReplays(t *testing.T) {
	for _, signalFirst := range []bool{true, false} {
		for _, fast := range []bool{false, true} {
			t.Run(fmt.Sprintf("signalFirst=%v/fast=%v", signalFirst, fast), func(t *testing.T) {
				var winners []int
				reg := weft.NewRegistry()
				weft.MustRegister(weft.RegisterTask(reg, stepA, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
				weft.MustRegister(weft.RegisterWorkflow(reg, racer, func(ctx weft.Context, _ int) ([]int, error) {
					sig := weft.Receive(ctx, orChannel)
					timer := weft.Timer(ctx, time.Minute)
					w, err := weft.Or(sig, timer).Await()
					if err != nil {
						return nil, err
					}
					winners = append(winners, w)
					// Status checks are as of the replay point too.
					if timer.Status() == core.StateCompleted && w == 0 && signalFirst {
						return nil, errors.New("the timer looks completed at the Or, but the signal won")
					}
					n := 0
					for range 3 {
						if err := weft.Sleep(ctx, time.Minute); err != nil {
							return nil, err
						}
						if n, err = weft.Call(ctx, stepA, n); err != nil {
							return nil, err
						}
					}
					return []int{w, n}, nil
				}))
				s := sim.New(t, reg, sim.Options{FastPath: fast, ReplayEveryTask: true})
				dispatch(s, "Racer", "run", "r1", 0)
				s.Run()
				signal := func() {
					s.Send(core.Topic(core.PrefixWorkflowCmd, "Racer"), "r1", &core.SendSignal{WorkflowID: "r1", Workflow: "Racer", Channel: "answer", SignalID: "s1", Data: []byte(`"yes"`)})
					s.Run()
				}
				if signalFirst {
					signal()
					s.Advance(time.Minute) // the losing timer fires too
				} else {
					s.Advance(time.Minute)
					signal() // discarded or too late: the timer won
				}
				s.RunAll()
				want := 1
				if signalFirst {
					want = 0
				}
				outs := s.Outcomes("r1")
				if len(outs) != 1 || string(outs[0].Value) != fmt.Sprintf("[%d,3]", want) {
					t.Fatalf("outcome = %+v", outs)
				}
				if len(winners) < 4 {
					t.Fatalf("the Or was replayed %d times, want at least 4", len(winners))
				}
				for i, w := range winners {
					if w != want {
						t.Fatalf("replay %d saw winner %d, want %d (all: %v)", i, w, want, winners)
					}
				}
			})
		}
	}
}

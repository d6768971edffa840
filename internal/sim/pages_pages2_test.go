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

// A child that timed out on the caller's side keeps its caller alive until
// it reports (TestTimedOutChildKeepsParentUntilItReports). Its command is
// terminal (timed out), so once the caller has 256 settled entries it goes
// to a page, and the caller no longer waits for it.
func TestAdvTimedOutChildArchivedParentEndsEarly(t *testing.T) {
	slow := weft.NewWorkflow[int, int]("AdvSlowChild", "run")
	impatient := weft.NewWorkflow[int, int]("AdvImpatient", "run")
	for _, steps := range []int{10, 300} {
		for _, fast := range []bool{false, true} {
			t.Run(fmt.Sprintf("steps=%d/fast=%v", steps, fast), func(t *testing.T) {
				reg := weft.NewRegistry()
				weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
				weft.MustRegister(weft.RegisterWorkflow(reg, slow, func(ctx weft.Context, n int) (int, error) {
					return n, weft.Sleep(ctx, time.Hour)
				}))
				weft.MustRegister(weft.RegisterWorkflow(reg, impatient, func(ctx weft.Context, n int) (int, error) {
					_, err := weft.DispatchChild(ctx, slow, n, weft.Timeout(time.Minute)).Await()
					if !errors.Is(err, weft.ErrWorkflowTimedOut) {
						return 0, fmt.Errorf("want a timeout, got %v", err)
					}
					for i := range n {
						if _, err := weft.Call(ctx, pageStep, i); err != nil {
							return 0, err
						}
					}
					return -1, nil
				}))
				s := sim.New(t, reg, sim.Options{FastPath: fast})
				dispatch(s, "AdvImpatient", "run", "p1", steps)
				s.Run()
				s.Advance(2 * time.Minute)
				if outs := s.Outcomes("p1"); len(outs) != 1 || string(outs[0].Value) != "-1" {
					t.Fatalf("parent outcome %+v, want -1; dead %+v", outs, s.DeadLetters)
				}
				if st := s.State("p1"); st == nil || st.Result != nil {
					t.Fatalf("the parent ended while its timed-out child still runs: %+v", st.Result)
				}
			})
		}
	}
}

var advFlaky atomic.Bool

var (
	advFlakyTask = weft.NewTask[int, int]("AdvFlaky", "work")
	advRetryWf   = weft.NewWorkflow[int, int]("AdvRetry", "run")
	advRetryAnd  = weft.NewWorkflow[int, int]("AdvRetry", "and")
	advCaughtWf  = weft.NewWorkflow[int, int]("AdvRetry", "caught")
	advDoneCh    = weft.NewChannel[int]("AdvRetry", "done")
)

func advRetryRegistry(ran *atomic.Int32) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterTask(reg, advFlakyTask, func(_ weft.TaskContext, n int) (int, error) {
		ran.Add(1)
		if advFlaky.Load() {
			return 0, errors.New("flaky")
		}
		return n, nil
	}))
	loop := func(ctx weft.Context, n int) (int, error) {
		total := 0
		for i := range n {
			v, err := weft.Call(ctx, pageStep, i)
			if err != nil {
				return 0, err
			}
			total += v
		}
		return total, nil
	}
	weft.MustRegister(weft.RegisterWorkflow(reg, advRetryWf, func(ctx weft.Context, n int) (int, error) {
		total, err := loop(ctx, n)
		if err != nil {
			return 0, err
		}
		v, err := weft.Call(ctx, advFlakyTask, 1000)
		return total + v, err
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, advRetryAnd, func(ctx weft.Context, n int) (int, error) {
		early := weft.Dispatch(ctx, pageStep, -1)
		total, err := loop(ctx, n)
		if err != nil {
			return 0, err
		}
		late := weft.Dispatch(ctx, advFlakyTask, 1000)
		if _, err := weft.And(early, late).Await(); err != nil {
			return 0, err
		}
		a, _ := early.Await()
		b, _ := late.Await()
		return total + a + b, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, advCaughtWf, func(ctx weft.Context, n int) (int, error) {
		_, ferr := weft.Call(ctx, advFlakyTask, 1000) // caught
		total, err := loop(ctx, n)
		if err != nil {
			return 0, err
		}
		if _, err := weft.Receive(ctx, advDoneCh).Await(); err != nil {
			return 0, err
		}
		if ferr == nil {
			return -1, nil
		}
		return total, nil
	}))
	return reg
}

func advRetryTasks(s *sim.Sim, id, taskID string) {
	s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvRetry"), id, &core.RetryTasks{WorkflowID: id, Workflow: "AdvRetry", TaskID: taskID})
	s.RunAll()
}

// A step failing after archives (plain, and And over an archived command)
// is resumed by RetryTasks.
func TestAdvRetryTasksAfterArchive(t *testing.T) {
	for _, method := range []string{"run", "and"} {
		for _, fast := range []bool{false, true} {
			for _, n := range []int{10, 300} {
				t.Run(fmt.Sprintf("%s/fast=%v/n=%d", method, fast, n), func(t *testing.T) {
					var ran atomic.Int32
					advFlaky.Store(true)
					defer advFlaky.Store(false)
					s := sim.New(t, advRetryRegistry(&ran), sim.Options{FastPath: fast})
					s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvRetry"), "r1", &core.DispatchWorkflow{WorkflowID: "r1", Workflow: "AdvRetry", Method: method, Input: []byte(fmt.Sprint(n)),
						Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
					s.RunAll()
					st := s.State("r1")
					if st == nil || st.Method("r1") == nil || st.Method("r1").Failure == nil || (n > 256 && len(st.Method("r1").Pages) == 0) {
						t.Fatalf("setup: want a failed, paged run; dead %+v", s.DeadLetters)
					}
					advFlaky.Store(false)
					advRetryTasks(s, "r1", "")
					want := n*(n+1)/2 + 1000
					if method == "and" {
						want += 0
					}
					st = s.State("r1")
					if st == nil || st.Result == nil || st.EndedMethod("r1") == nil || string(st.EndedMethod("r1").Value) != fmt.Sprint(want) {
						t.Fatalf("after RetryTasks: %+v, want ended with %d; dead %+v", st, want, s.DeadLetters)
					}
					if len(s.DeadLetters) > 0 {
						t.Fatalf("dead letters %+v", s.DeadLetters)
					}
				})
			}
		}
	}
}

// RetryTasks of a failed task that the workflow caught: short run, the
// task is dispatched again; long run (its command archived), nothing.
func TestAdvRetryTasksOfArchivedFailedTask(t *testing.T) {
	for _, n := range []int{10, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var ran atomic.Int32
			advFlaky.Store(true)
			s := sim.New(t, advRetryRegistry(&ran), sim.Options{})
			s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvRetry"), "c1", &core.DispatchWorkflow{WorkflowID: "c1", Workflow: "AdvRetry", Method: "caught", Input: []byte(fmt.Sprint(n)),
				Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
			s.RunAll()
			advFlaky.Store(false)
			before := ran.Load()
			advRetryTasks(s, "c1", "")
			if ran.Load() == before {
				t.Fatalf("n=%d: RetryTasks did not run the failed task again (pages: %d)", n, len(s.State("c1").Method("c1").Pages))
			}
		})
	}
}

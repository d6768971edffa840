package sim_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// A RetryTasks arriving while the workflow task that sees the failure runs
// must wait for it: that task decided the step (here: caught the error and
// compensated), so the retry cannot turn the step back into a wait whose
// later success another replay would see instead of the error.

var (
	sagaBook       = weft.NewTask[int, int]("SagaRetry", "book")
	sagaCompensate = weft.NewTask[int, int]("SagaRetry", "compensate")
	sagaWf         = weft.NewWorkflow[int, string]("SagaRetry", "run")
)

func TestRetryTasksDuringAWorkflowTaskWaitsForIt(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var booked atomic.Int32
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, sagaBook, func(_ weft.TaskContext, n int) (int, error) {
				if booked.Add(1) == 1 {
					return 0, errors.New("no seat")
				}
				return n, nil
			}))
			weft.MustRegister(weft.RegisterTask(reg, sagaCompensate, func(_ weft.TaskContext, n int) (int, error) { return n, nil }))
			weft.MustRegister(weft.RegisterWorkflow(reg, sagaWf, func(ctx weft.Context, n int) (string, error) {
				if _, err := weft.Call(ctx, sagaBook, n); err != nil {
					if _, err := weft.Call(ctx, sagaCompensate, n); err != nil {
						return "", err
					}
					return "compensated", nil
				}
				return "booked", nil
			}))
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			dispatch(s, "SagaRetry", "run", "w1", 1)
			retried := false
			s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
				// Just before the workflow task that sees the failure runs
				// (on the fast path: just after the failure is handled).
				seeing := env.Type == "weft.executor.ExecuteWorkflowTask" && s.Count("weft.engine.TaskFailed") == 1
				if fast {
					seeing = s.Count("weft.engine.TaskFailed") == 1
				}
				if !retried && seeing {
					retried = true
					rt := s.Send(core.Topic(core.PrefixWorkflowCmd, "SagaRetry"), "w1", &core.RetryTasks{WorkflowID: "w1", Workflow: "SagaRetry"})
					s.Queue = s.Queue[:len(s.Queue)-1]
					s.Handle(rt)
				}
			}
			s.RunAll()
			if !retried {
				t.Fatal("setup: the retry was never sent")
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
			outs := s.Outcomes("w1")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != `"compensated"` {
				for _, o := range outs {
					t.Logf("outcome %s %s %v", o.Kind, o.Value, o.Error)
				}
				t.Fatalf("want one completion with \"compensated\" (the workflow task caught the failure)")
			}
		})
	}
}

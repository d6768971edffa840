package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// A workflow task that does not finish within its timeout is abandoned:
// Go cannot stop its goroutine, which goes on running user code until its
// next weft call. Nothing it does meanwhile may touch what the engine goes
// on changing (run with -race: the goroutine polls a command whose result
// the engine records while it polls).

var (
	spinTask = weft.NewTask[int, int]("Spin", "work")
	spinWf   = weft.NewWorkflow[int, int]("Spin", "run")
)

func TestAbandonedWorkflowTaskTouchesNoSharedState(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, spinTask, func(_ weft.TaskContext, n int) (int, error) { return n, nil }))
			weft.MustRegister(weft.RegisterWorkflow(reg, spinWf, func(ctx weft.Context, n int) (int, error) {
				work := weft.Dispatch(ctx, spinTask, n)
				if err := weft.Sleep(ctx, time.Minute); err != nil {
					return 0, err
				}
				// Polls the task's status without ever suspending: the
				// workflow task times out while this goroutine reads.
				for work.Status() == core.StateOngoing {
				}
				return work.Await()
			}, weft.WithWorkflowTaskTimeout(20*time.Millisecond)))
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			dispatch(s, "Spin", "run", "s1", 3)
			held := runHoldingTasks(s) // the task is slow: still running after the minute
			if len(held) != 1 {
				t.Fatalf("setup: %d tasks held", len(held))
			}
			s.Advance(time.Minute)
			if o := lastOutcome(t, s, "s1"); o == nil || o.Kind != core.MethodFailed {
				t.Fatalf("the spinning workflow task: %+v, want a failure (timeout)", o)
			}
			// While the abandoned goroutine still polls, the task's result
			// is recorded on the live state, many times over.
			s.Publish(held...)
			s.Run()
			for i := range 200 {
				s.Send(core.Topic(core.PrefixWorkflowCmd, "Spin"), "s1", &core.SendSignal{WorkflowID: "s1", Workflow: "Spin", Channel: "none", SignalID: fmt.Sprint("noise-", i), Data: []byte("1")})
				s.Run()
			}
			if st := s.State("s1"); st == nil || st.Method("s1") == nil || st.Method("s1").Failure == nil {
				t.Fatalf("state %+v, want the method failed and kept", st)
			}
		})
	}
}

package sim_test

// Review of the state engine's fast path and outbox. Each test demonstrates
// a suspected bug and is skipped so the suite stays green; delete the
// t.Skip line to see it fail.

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

// ---------------------------------------------------------------------------
// Broker path (no in-process tasks): outputs are published before the
// versioned write. When the write loses a race against a change that does
// not itself dispatch a workflow task (here a signal on the cmd topic,
// handled concurrently with a task result on the engine topic), the input
// is handled again on the fresh state and dispatches workflow task index
// k+1 with the SAME trigger (the input's instant), hence the SAME task id
// (DeriveID(trigger, workflowID, "workflow-task", index)), but with other
// content. The stale ExecuteWorkflowTask was already published; it is
// handled first, and its result is accepted because its TaskID equals
// Running.ID. The recorded history then holds commands computed from a
// history it never had (here: task y although the signal was recorded as
// received before that workflow task), and the next replay no longer
// matches. The fast path is immune (its outputs are published only after
// the write).

var (
	orSig   = weft.NewChannel[int]("OrStale", "sig")
	orFirst = weft.NewTask[int, int]("OrMath", "first")
	orX     = weft.NewTask[int, int]("OrMath", "x")
	orY     = weft.NewTask[int, int]("OrMath", "y")
	orWf    = weft.NewWorkflow[int, int]("OrStale", "run")
)

func TestOutboxReviewBrokerPathStaleTaskReusesTaskID(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			log := newRunLog()
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, orFirst, func(ctx weft.TaskContext, n int) (int, error) { return n, nil }))
			weft.MustRegister(weft.RegisterTask(reg, orX, func(ctx weft.TaskContext, n int) (int, error) {
				log.add("x", ctx.Info().TaskID)
				return 1, nil
			}))
			weft.MustRegister(weft.RegisterTask(reg, orY, func(ctx weft.TaskContext, n int) (int, error) {
				log.add("y", ctx.Info().TaskID)
				return 2, nil
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, orWf, func(ctx weft.Context, n int) (int, error) {
				sig := weft.Receive(ctx, orSig)
				if _, err := weft.Call(ctx, orFirst, n); err != nil {
					return 0, err
				}
				if sig.Status() == core.StateCompleted {
					return weft.Call(ctx, orX, 0)
				}
				return weft.Call(ctx, orY, 0)
			}))
			var s *sim.Sim
			store := &hookStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now }))}
			s = sim.New(t, reg, sim.Options{FastPath: fast, Store: store, Dedup: true})
			dispatch(s, "OrStale", "run", "o1", 1)
			// Run, holding back the result of task "first".
			held := runHolding(s, "weft.engine.TaskCompleted")
			if held == nil {
				t.Fatal("setup: no task result held")
			}
			sig := core.Envelope{}
			store.hook = func() {
				// The signal (cmd topic) is handled concurrently with the
				// task result (engine topic) and commits first.
				sig = s.Send(core.Topic(core.PrefixWorkflowCmd, "OrStale"), "o1", &core.SendSignal{WorkflowID: "o1", Workflow: "OrStale", Channel: "sig", SignalID: "sig-1", Data: []byte("5")})
				s.Queue = s.Queue[:len(s.Queue)-1]
				s.Handle(sig)
			}
			s.Handle(*held)
			s.RunAll()
			if sig.ID == "" {
				t.Fatal("setup: the concurrent signal was never handled")
			}
			// The signal is recorded before the workflow task that follows
			// "first", so every replay takes the x branch.
			if outs := s.Outcomes("o1"); len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "1" {
				for _, o := range outs {
					t.Logf("outcome %s %s %v", o.Kind, o.Value, o.Error)
				}
				t.Errorf("outcomes %+v, want one completed with 1 (branch x); dead letters %+v", outs, s.DeadLetters)
			}
			if n := log.ids("y"); n != 0 {
				t.Errorf("task y, computed from a stale history, was executed %d time(s)", n)
			}
		})
	}
}

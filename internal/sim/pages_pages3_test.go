package sim_test

import (
	"context"
	"fmt"

	"github.com/weftio/weft/functions"
	"testing"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// At-least-once delivery: a workflow task delivered again late, after its
// instance ended. Without pages the executor runs it and the engine drops
// the stale result. With pages (deleted when the run ended) the executor
// dead-letters it as corrupt storage.
func TestAdvLateDuplicateWorkflowTaskAfterEnd(t *testing.T) {
	for _, steps := range []int{50, 400} {
		t.Run(fmt.Sprint(steps), func(t *testing.T) {
			s := sim.New(t, pagesRegistry(), sim.Options{})
			dispatch(s, "PagesLoop", "run", "p1", steps)
			s.RunAll()
			var last core.Envelope
			for _, env := range s.Handled {
				if env.Type == (&core.ExecuteWorkflowTask{}).MessageType() {
					last = env
				}
			}
			s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "PagesLoop", Channel: "sig", SignalID: "s-go", Data: []byte(`"go"`)})
			s.RunAll()
			if st := s.State("p1"); st == nil || st.Result == nil {
				t.Fatal("setup: not ended")
			}
			// Redelivered by the broker, to an executor (a fresh one: no parked run).
			ex, err := functions.NewExecutor(functions.ExecutorConfig{Registry: pagesRegistry(), Store: s.Store})
			if err != nil {
				t.Fatal(err)
			}
			res, err := ex.Handle(context.Background(), last)
			t.Logf("outputs %d, err %v", len(res.Outputs), err)
			if functions.IsPermanent(err) && len(res.Outputs) == 0 {
				t.Fatalf("a late duplicate of a workflow task is dead-lettered: %v", err)
			}
		})
	}
}

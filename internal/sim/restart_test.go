package sim_test

import (
	"fmt"
	"testing"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// After a restart the state engine does not know which outboxes went out.
// It must not publish them all again (every live workflow's current task
// would run twice), yet one that may not have gone out must not be lost.

// TestRestartPublishesNothingTwice: every message handled by a fresh
// engine (an empty cache, as after a restart): no task runs twice.
func TestRestartPublishesNothingTwice(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg, log := kitchenSink(t)
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
				s.Engine = s.OtherEngine() // a restart before every message
			}
			runKitchenSink(s)
			checkCompleted(t, s, "p1", kitchenSinkResult)
			for id, n := range log.runs {
				// flaky runs twice by design: a failed attempt and its retry.
				if n > 1 && id != flakyTaskID(s) {
					t.Errorf("task %s ran %d times", id, n)
				}
			}
			if got := log.distinct(); got != 6 {
				t.Fatalf("distinct tasks executed = %d, want 6", got)
			}
		})
	}
}

func flakyTaskID(s *sim.Sim) string {
	for _, env := range s.Handled {
		if m, err := core.DecodeMessage(env); err == nil {
			if et, ok := m.(*core.ExecuteTask); ok && et.Method == "flaky" {
				return et.TaskID
			}
		}
	}
	return ""
}

// TestOutboxNotLostWhenAnotherMessageComesFirst: the handling of an input
// writes its state, then stops before publishing (the publish fails, the
// process dies). Before the input comes again, another message of the
// instance is handled by a fresh engine (no per-key order across topics,
// or after a restart). The first outbox goes out when its input comes
// again, and the workflow ends as a clean run does.
func TestOutboxNotLostWhenAnotherMessageComesFirst(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg, log := kitchenSink(t)
			failing := false
			s := sim.New(t, reg, sim.Options{FastPath: fast, FailPublish: func(int) bool { return failing }})
			dispatch(s, "Parent", "run", "p1", 1)
			// The task result that resumes the parent: written, never published.
			var held *core.Envelope
			s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
				if held == nil && env.Type == "weft.engine.TaskCompleted" {
					failing = true
				}
			}
			for s.Step() {
				if failing {
					failing = false
					held = &s.Queue[0] // requeued after the failed publish
					s.Queue = s.Queue[1:]
					break
				}
			}
			s.BeforeHandle = nil
			if held == nil {
				t.Fatal("setup: no publish failed")
			}
			// Another message first, on a fresh engine.
			s.Engine = s.OtherEngine()
			data := []byte(`"hello"`)
			s.Handle(s.Send(core.Topic(core.PrefixWorkflowCmd, "Parent"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "Parent", Channel: "go", SignalID: "sig-1", Data: data}))
			s.Queue = s.Queue[:0]
			if st := s.State("p1"); len(st.Carried) == 0 {
				t.Fatalf("the unpublished outbox was not carried: %+v", st)
			}
			// Then the held input again.
			s.Engine = s.OtherEngine()
			s.Publish(*held)
			s.RunAll()
			checkCompleted(t, s, "p1", kitchenSinkResult)
			if got := log.distinct(); got != 6 {
				t.Fatalf("distinct tasks executed = %d, want 6", got)
			}
		})
	}
}

package sim_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// A task retried with RetryTasks gets a fresh caller-side timeout, counted
// from the retry; the timeout of the earlier attempt is stale.

var (
	slowTask = weft.NewTask[int, int]("Slow", "work", weft.WithTimeout(10*time.Second))
	slowWf   = weft.NewWorkflow[int, int]("SlowWf", "run")
)

func slowRegistry(fail *bool) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, slowTask, func(_ weft.TaskContext, n int) (int, error) {
		if *fail {
			return 0, errors.New("broken")
		}
		return n, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, slowWf, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, slowTask, n)
	}))
	return reg
}

// runHoldingTasks runs the queue to the end without executing tasks: their
// ExecuteTask envelopes are returned, as if the executor were slow.
func runHoldingTasks(s *sim.Sim) []core.Envelope {
	var held []core.Envelope
	for len(s.Queue) > 0 {
		if env := s.Queue[0]; env.Type == "weft.executor.ExecuteTask" {
			held = append(held, env)
			s.Queue = s.Queue[1:]
			continue
		}
		s.Step()
	}
	return held
}

func lastOutcome(t *testing.T, s *sim.Sim, id string) *core.MethodOutcome {
	t.Helper()
	outs := s.Outcomes(id)
	if len(outs) == 0 {
		return nil
	}
	return outs[len(outs)-1]
}

// retryTasks retries the failed tasks of an instance, and waits again for
// its main method (a failure's waiters are answered once).
func retryTasks(s *sim.Sim, workflow, id string) {
	s.Send(core.Topic(core.PrefixWorkflowCmd, workflow), id, &core.RetryTasks{WorkflowID: id, Workflow: workflow})
	s.Send(core.Topic(core.PrefixWorkflowCmd, workflow), id, &core.WaitWorkflow{WorkflowID: id, Workflow: workflow, MethodRunID: id, Client: "c1"})
}

func TestRetriedTaskGetsAFreshTimeout(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v/after the timeout fired", fast), func(t *testing.T) {
			fail := false
			s := sim.New(t, slowRegistry(&fail), sim.Options{FastPath: fast})
			dispatch(s, "SlowWf", "run", "w1", 1)
			if held := runHoldingTasks(s); len(held) != 1 {
				t.Fatalf("setup: %d tasks held", len(held))
			}
			s.Advance(10 * time.Second)
			if o := lastOutcome(t, s, "w1"); o == nil || !errors.Is(o.Error, core.ErrTaskTimedOut) {
				t.Fatalf("first attempt: %+v, want a timeout", o)
			}
			s.Advance(time.Minute)
			s.Responses = nil
			retryTasks(s, "SlowWf", "w1")
			if held := runHoldingTasks(s); len(held) != 1 {
				t.Fatalf("retry: %d tasks held", len(held))
			}
			s.Advance(9 * time.Second)
			if o := lastOutcome(t, s, "w1"); o != nil {
				t.Fatalf("answered before the retry's timeout: %+v", o)
			}
			s.Advance(time.Second)
			if o := lastOutcome(t, s, "w1"); o == nil || !errors.Is(o.Error, core.ErrTaskTimedOut) {
				t.Fatalf("retried attempt: %+v, want a timeout 10 s after the retry", o)
			}
		})
		t.Run(fmt.Sprintf("fast=%v/before the timeout fired", fast), func(t *testing.T) {
			fail := true
			s := sim.New(t, slowRegistry(&fail), sim.Options{FastPath: fast})
			dispatch(s, "SlowWf", "run", "w1", 7)
			s.Run() // the attempt fails at once; its timeout is still to come
			if o := lastOutcome(t, s, "w1"); o == nil || !errors.Is(o.Error, core.ErrTaskFailed) {
				t.Fatalf("first attempt: %+v, want a failure", o)
			}
			s.Advance(5 * time.Second)
			s.Responses = nil
			fail = false
			retryTasks(s, "SlowWf", "w1")
			held := runHoldingTasks(s)
			if len(held) != 1 {
				t.Fatalf("retry: %d tasks held", len(held))
			}
			s.Advance(5 * time.Second) // the first attempt's timeout is due
			if o := lastOutcome(t, s, "w1"); o != nil {
				t.Fatalf("the first attempt's timeout ended the retry after 5 s: %+v", o)
			}
			s.Advance(4 * time.Second)
			s.Publish(held...) // the retry succeeds within its 10 s
			s.RunAll()
			if o := lastOutcome(t, s, "w1"); o == nil || o.Kind != core.MethodCompleted || string(o.Value) != "7" {
				t.Fatalf("retried attempt: %+v, want completed with 7", o)
			}
		})
	}
}

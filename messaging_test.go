package weft_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var (
	chargeCard = weft.NewTask[int, int]("Payments", "charge")
	payChild   = weft.NewWorkflow[int, int]("Payment", "run")
	orderWf    = weft.NewWorkflow[int, int]("Order", "run")
)

func nestedRegistry() *weft.Registry {
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, chargeCard, func(_ weft.TaskContext, n int) (int, error) {
		return 0, fmt.Errorf("card declined for %d", n)
	}))
	weft.MustRegister(weft.RegisterWorkflow(r, payChild, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, chargeCard, n)
	}))
	weft.MustRegister(weft.RegisterWorkflow(r, orderWf, func(ctx weft.Context, n int) (int, error) {
		v, err := weft.CallChild(ctx, payChild, n)
		if err != nil {
			return 0, fmt.Errorf("pay for order: %w", err)
		}
		return v, nil
	}))
	return r
}

// TestChildFailureNests: the error a client gets nests the whole call
// chain: parent workflow ← child workflow ← task, with the user's message.
func TestChildFailureNests(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		s := sim.New(t, nestedRegistry(), sim.Options{FastPath: fast})
		dispatchSim(s, "Order", "run", "o1", 12, nil, nil)
		s.Run()
		err := failedWith(t, s, "o1")
		if got := codes(err); got != "workflow_failed<-workflow_failed<-task_failed" {
			t.Fatalf("chain %s (%v), want parent <- child <- task", got, err)
		}
		c := chain(err)
		if c[0].Workflow != "Order" || c[0].WorkflowID != "o1" || c[1].Workflow != "Payment" || c[2].Service != "Payments" || c[2].Method != "charge" {
			t.Errorf("chain does not name parent, child and task: %+v / %+v / %+v", c[0], c[1], c[2])
		}
		if c[1].WorkflowID == "" || c[1].WorkflowID == "o1" {
			t.Errorf("the child's error does not identify the child instance: %+v", c[1])
		}
		if c[0].Failure == nil || !strings.Contains(c[0].Failure.Message, "pay for order") {
			t.Errorf("the parent's own wrapping is lost: %+v", c[0].Failure)
		}
		if c[2].Failure == nil || c[2].Failure.Message != "card declined for 12" || c[2].Failure.Type != "*errors.errorString" {
			t.Errorf("the task's failure is lost: %+v", c[2].Failure)
		}
		if !errors.Is(err, weft.ErrWorkflowFailed) || !errors.Is(err, weft.ErrTaskFailed) {
			t.Errorf("errors.Is does not see the chain: %v", err)
		}
		for _, want := range []string{"pay for order", "card declined for 12"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not mention %q", err, want)
			}
		}
	})
}

var (
	selfMain   = weft.NewWorkflow[int, int]("Selfish", "run")
	selfHelper = weft.NewWorkflow[int, int]("Selfish", "helper")
	selfCh     = weft.NewChannel[string]("Selfish", "notes")
)

// TestDispatchMethodOnSelf: a method run dispatched on the workflow's own
// instance goes through the buffer, not the broker, and completes.
func TestDispatchMethodOnSelf(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, selfMain, func(ctx weft.Context, n int) (int, error) {
			d := weft.DispatchMethod(ctx, selfHelper, weft.GetInfo(ctx).WorkflowID, n)
			v, err := d.Await()
			if err != nil {
				return 0, err
			}
			return v * 100, nil
		}))
		var helperInfo weft.Info
		weft.MustRegister(weft.RegisterWorkflow(r, selfHelper, func(ctx weft.Context, n int) (int, error) {
			helperInfo = weft.GetInfo(ctx)
			return weft.Call(ctx, add1, n)
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Selfish", "run", "me", 4, nil, nil)
		s.Run()
		completedWith(t, s, "me", "500")
		if n := s.Count((&core.DispatchMethod{}).MessageType()); n != 0 {
			t.Errorf("%d DispatchMethod messages went through the broker, want 0", n)
		}
		if helperInfo.WorkflowID != "me" || helperInfo.Method != "helper" || helperInfo.MethodRunID == "me" || helperInfo.MethodRunID == "" {
			t.Errorf("helper info = %+v, want another method run of instance me", helperInfo)
		}
	})
}

// TestSendToSelf: a signal a workflow sends to itself reaches its own open
// reception through the buffer.
func TestSendToSelf(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, selfMain, func(ctx weft.Context, n int) (int, error) {
			rec := weft.Receive(ctx, selfCh)
			if err := weft.Send(ctx, selfCh, weft.GetInfo(ctx).WorkflowID, "note to self"); err != nil {
				return 0, err
			}
			v, err := rec.Await()
			return len(v), err
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Selfish", "run", "me", 0, nil, nil)
		s.Run()
		completedWith(t, s, "me", "12")
		if n := s.Count((&core.SendSignal{}).MessageType()); n != 0 {
			t.Errorf("%d SendSignal messages went through the broker, want 0", n)
		}
	})
}

// Approval names its type for OfType filters.
type Approval struct{ By string }

func (Approval) SignalType() string { return "approval" }

// TestReceiveOfType: a typed reception ignores signals of other types,
// which are discarded when nobody else receives them.
func TestReceiveOfType(t *testing.T) {
	t.Parallel()
	if weft.SignalType(Approval{}) != "approval" || weft.SignalType(3) != "int" || weft.SignalType(&Approval{}) != "approval" {
		t.Fatalf("SignalType: %q %q %q", weft.SignalType(Approval{}), weft.SignalType(3), weft.SignalType(&Approval{}))
	}
	ch := weft.NewChannel[Approval]("Gate", "decisions")
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, string]("Gate", "run"), func(ctx weft.Context, _ int) (string, error) {
			a, err := weft.Receive(ctx, ch, weft.OfType("approval")).Await()
			return a.By, err
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Gate", "run", "g1", 0, nil, nil)
		s.Run()
		signalSim(s, "Gate", "g1", "decisions", "s1", "rejection", Approval{By: "mallory"})
		signalSim(s, "Gate", "g1", "decisions", "s2", "", Approval{By: "untyped"})
		s.Run()
		if ended(s, "g1") {
			t.Fatalf("a signal of another type was received: %+v", s.Outcomes("g1"))
		}
		signalSim(s, "Gate", "g1", "decisions", "s3", weft.SignalType(Approval{}), Approval{By: "alice"})
		s.Run()
		completedWith(t, s, "g1", `"alice"`)
	})
}

// TestReceiveUnlimited: Limit(0) keeps the reception open for every signal.
func TestReceiveUnlimited(t *testing.T) {
	t.Parallel()
	ch := weft.NewChannel[int]("Collector", "numbers")
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, []int]("Collector", "run"), func(ctx weft.Context, n int) ([]int, error) {
			all := weft.Receive(ctx, ch, weft.Limit(0))
			one := weft.Receive(ctx, ch) // default limit 1, opened second
			var got []int
			for range n {
				v, err := all.Await()
				if err != nil {
					return nil, err
				}
				got = append(got, v)
			}
			if one.Status() != core.StateOngoing {
				return nil, errors.New("the second reception got a signal the unlimited one should have taken")
			}
			return got, nil
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Collector", "run", "c1", 5, nil, nil)
		s.Run()
		for i := range 5 {
			signalSim(s, "Collector", "c1", "numbers", fmt.Sprintf("s%d", i), "", i*i)
			if i == 2 {
				signalSim(s, "Collector", "c1", "numbers", "s2", "", 99) // duplicate id: dropped
			}
			s.Run()
		}
		completedWith(t, s, "c1", "[0,1,4,9,16]")
	})
}

// TestReceiveLimitOne: the default reception takes one signal; the next is
// discarded, not kept for a later reception.
func TestReceiveLimitOne(t *testing.T) {
	t.Parallel()
	ch := weft.NewChannel[int]("Once", "numbers")
	bothPaths(t, func(t *testing.T, fast bool) {
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, []int]("Once", "run"), func(ctx weft.Context, _ int) ([]int, error) {
			first := weft.Receive(ctx, ch)
			a, err := first.Await()
			if err != nil {
				return nil, err
			}
			if err := weft.Sleep(ctx, time.Minute); err != nil {
				return nil, err
			}
			// Awaiting the same reception again waits for a second signal.
			w, err := weft.Or(first, weft.Timer(ctx, time.Hour)).Await()
			return []int{a, w}, err
		}))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Once", "run", "o1", 0, nil, nil)
		s.Run()
		signalSim(s, "Once", "o1", "numbers", "s1", "", 7)
		signalSim(s, "Once", "o1", "numbers", "s2", "", 8) // limit reached: discarded
		s.Run()
		s.RunAll()
		completedWith(t, s, "o1", "[7,1]") // the second await timed out
	})
}

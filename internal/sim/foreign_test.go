package sim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// Workflow ids are unique across workflow types: a message for workflow B
// naming the id of a running instance of A must not act on A.

var (
	ownerWf   = weft.NewWorkflow[int, int]("Owner", "run")
	ownerGo   = weft.NewChannel[int]("Owner", "go")
	intruder  = weft.NewWorkflow[int, int]("Intruder", "run")
	intrudeTo = weft.NewWorkflow[int, int]("Intruder", "poke")
	prober    = weft.NewWorkflow[string, string]("Prober", "run")
)

func foreignRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, ownerWf, func(ctx weft.Context, n int) (int, error) {
		v, err := weft.Receive(ctx, ownerGo).Await()
		return n + v, err
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, intruder, func(ctx weft.Context, n int) (int, error) { return -n, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, intrudeTo, func(ctx weft.Context, n int) (int, error) { return -n, nil }))
	// Prober runs a method of Intruder on its own id, which is the id of
	// an instance of Prober, not of Intruder.
	weft.MustRegister(weft.RegisterWorkflow(reg, prober, func(ctx weft.Context, _ string) (string, error) {
		_, err := weft.DispatchMethod(ctx, intrudeTo, weft.GetInfo(ctx).WorkflowID, 1).Await()
		switch {
		case errors.Is(err, weft.ErrWorkflowUnknown):
			return "unknown", nil
		case err != nil:
			return "", err
		}
		return "ran on myself", nil
	}))
	return reg
}

func TestWorkflowIDsAreUniqueAcrossWorkflowTypes(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := sim.New(t, foreignRegistry(), sim.Options{FastPath: fast})
			dispatch(s, "Owner", "run", "x", 1)
			s.Run()
			before := s.State("x")
			if before == nil || before.WorkflowName != "Owner" || before.Result != nil {
				t.Fatalf("setup: state of x = %+v", before)
			}

			// A dispatch of Intruder under x, waited for, with a tag.
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Intruder"), "x", &core.DispatchWorkflow{WorkflowID: "x", Workflow: "Intruder", Method: "run",
				Input: []byte("5"), Tags: []string{"team:a"}, Requester: &core.Requester{Client: "c9"}, ClientWaiting: true})
			// A method, a wait and a signal for Intruder x.
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Intruder"), "x", &core.DispatchMethod{WorkflowID: "x", Workflow: "Intruder", MethodRunID: "m1",
				Method: "poke", Input: []byte("1"), Requester: &core.Requester{Client: "c9"}, ClientWaiting: true})
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Intruder"), "x", &core.WaitWorkflow{WorkflowID: "x", Workflow: "Intruder", MethodRunID: "x", Client: "c8"})
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Intruder"), "x", &core.SendSignal{WorkflowID: "x", Workflow: "Intruder", Channel: "go", SignalID: "s1", Data: []byte("100")})
			s.Run()

			got := map[string]*core.MethodOutcome{}
			for _, o := range clientOutcomes(s, "c9") {
				got[o.MethodRunID] = o
			}
			if o := got["x"]; o == nil || o.Kind != core.MethodFailed || !errors.Is(o.Error, core.ErrBadInput) ||
				!strings.Contains(o.Error.Error(), "instance of workflow Owner") || o.Workflow != "Intruder" {
				t.Errorf("dispatch of Intruder x answered %+v, want a bad-input failure naming Owner", o)
			}
			if o := got["m1"]; o == nil || o.Kind != core.MethodUnknown || !strings.Contains(o.Error.Error(), "instance of workflow Owner") {
				t.Errorf("method on Intruder x answered %+v, want unknown naming Owner", o)
			}
			if n := len(clientOutcomes(s, "c8")); n != 1 || clientOutcomes(s, "c8")[0].Kind != core.MethodUnknown {
				t.Errorf("wait on Intruder x: %d answers %+v, want one unknown", n, clientOutcomes(s, "c8"))
			}
			var released bool
			for _, env := range s.Others {
				if m, err := core.DecodeMessage(env); err == nil {
					if r, ok := m.(*core.RemoveTagFromWorkflow); ok && r.Workflow == "Intruder" && r.WorkflowID == "x" && r.Tag == "team:a" {
						released = true
					}
				}
			}
			if !released {
				t.Error("the tag recorded for the refused dispatch was not released")
			}
			after := s.State("x")
			if after.WorkflowName != "Owner" || len(after.Methods) != 1 || after.Methods[0].Name != "run" || len(after.Buffer) != 0 {
				t.Fatalf("the Owner instance was touched: %+v", after)
			}
			// The Owner instance goes on: its own signal completes it, the
			// Intruder's signal was not taken.
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Owner"), "x", &core.SendSignal{WorkflowID: "x", Workflow: "Owner", Channel: "go", SignalID: "s2", Data: []byte("2")})
			s.Run()
			if st := s.State("x"); st.Result == nil || st.Result.State != core.StateCompleted || string(st.EndedMethod("x").Value) != "3" {
				t.Fatalf("the Owner instance did not complete with 3: %+v", st)
			}
			if outs := clientOutcomes(s, "c1"); len(outs) != 1 || outs[0].Workflow != "Owner" || string(outs[0].Value) != "3" {
				t.Fatalf("Owner's client got %+v, want one answer 3", outs)
			}
		})
	}
}

// TestMethodOfAnotherWorkflowOnItsOwnID: a workflow dispatching a method
// of another workflow type on its own id is not running a method of
// itself: the command goes out and is answered unknown.
func TestMethodOfAnotherWorkflowOnItsOwnID(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := sim.New(t, foreignRegistry(), sim.Options{FastPath: fast})
			dispatch(s, "Prober", "run", "p", "")
			s.Run()
			checkCompleted(t, s, "p", `"unknown"`)
		})
	}
}

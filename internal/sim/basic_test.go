package sim_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var (
	double = weft.NewTask[int, int]("Math", "double")
	seq    = weft.NewWorkflow[int, int]("Seq", "run")
)

func seqRegistry(t testing.TB) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, double, func(_ weft.TaskContext, n int) (int, error) { return n * 2, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, seq, func(ctx weft.Context, n int) (int, error) {
		for range 3 {
			v, err := weft.Call(ctx, double, n)
			if err != nil {
				return 0, err
			}
			n = v
		}
		return n, nil
	}))
	return reg
}

func dispatch(s *sim.Sim, workflow, method, id string, input any) {
	in, _ := json.Marshal(input)
	s.Send(core.Topic(core.PrefixWorkflowCmd, workflow), id, &core.DispatchWorkflow{
		WorkflowID: id, Workflow: workflow, Method: method, Input: in,
		Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
}

func TestSequentialTasks(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := sim.New(t, seqRegistry(t), sim.Options{FastPath: fast})
			dispatch(s, "Seq", "run", "w1", 3)
			s.Run()
			outs := s.Outcomes("w1")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "24" {
				t.Fatalf("outcomes = %+v", outs)
			}
			st := s.State("w1")
			if st == nil || st.Result == nil || st.Result.State != core.StateCompleted {
				t.Fatalf("state = %+v", st)
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

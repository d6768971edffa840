package weft_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
)

var (
	sessStep = weft.NewTask[int, int]("Sess", "step")
	sessLoop = weft.NewWorkflow[int, int]("SessLoop", "run")
	sessPick = weft.NewWorkflow[int, int]("SessPick", "run")
)

// applyAll applies m to s and returns the workflow task it dispatches.
func applyAll(t *testing.T, s *core.WorkflowState, id string, m core.Message) (*core.WorkflowState, *core.ExecuteWorkflowTask) {
	t.Helper()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, err := core.Apply(s, core.Input{ID: id, Instant: at, Msg: m}, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range tr.Outputs {
		if wt, ok := o.Msg.(*core.ExecuteWorkflowTask); ok {
			return tr.State, wt
		}
	}
	return tr.State, nil
}

// completeTask answers the task the last result dispatched.
func completeTask(t *testing.T, res core.Message, value int) *core.CommandResult {
	t.Helper()
	c := res.(*core.WorkflowTaskCompleted)
	for _, cmd := range c.Commands {
		if cmd.Kind == core.KindTask {
			v, _ := json.Marshal(value)
			return &core.CommandResult{Kind: core.TaskCompleted, Workflow: c.Workflow, WorkflowID: c.WorkflowID, MethodRunID: c.MethodRunID, CommandID: cmd.ID, Value: v}
		}
	}
	t.Fatalf("no task dispatched by %+v", c)
	return nil
}

// TestSessionsResumeInsteadOfReplaying: a parked run goes on from its
// await; the code runs from the start once, not once per step, and the
// results are those of replays from the start.
func TestSessionsResumeInsteadOfReplaying(t *testing.T) {
	var starts atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, sessLoop, func(ctx weft.Context, n int) (int, error) {
		starts.Add(1)
		total := 0
		for i := range n {
			v, err := weft.Call(ctx, sessStep, i)
			if err != nil {
				return 0, err
			}
			total += v
		}
		return total, nil
	}))
	for _, keep := range []int{0, -1} {
		starts.Store(0)
		sess := reg.NewSessions(keep)
		s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "l", Workflow: "SessLoop", Method: "run", Input: []byte("20")})
		var res core.Message
		for i := 0; wt != nil; i++ {
			var err error
			if res, err = sess.RunWorkflowTask(wt, nil); err != nil {
				t.Fatal(err)
			}
			if s, wt = applyAll(t, s, "wt"+string(rune('a'+i)), res); wt != nil {
				t.Fatalf("a result dispatched a workflow task at once")
			}
			if c, ok := res.(*core.WorkflowTaskCompleted); !ok || c.Returned {
				break
			}
			s, wt = applyAll(t, s, "r"+string(rune('a'+i)), completeTask(t, res, 2*i))
		}
		if c, ok := res.(*core.WorkflowTaskCompleted); !ok || !c.Returned || string(c.Value) != "380" {
			t.Fatalf("keep %d: last result %#v, want the sum 380", keep, res)
		}
		want := int32(1)
		if keep < 0 {
			want = 21
		}
		if got := starts.Load(); got != want {
			t.Errorf("keep %d: the code started %d times, want %d", keep, got, want)
		}
		if sess.Kept() != 0 {
			t.Errorf("keep %d: %d runs still parked after the run returned", keep, sess.Kept())
		}
		sess.Close()
	}
}

// TestSessionsReplayWhenAnotherResultWasRecorded: two executors run the
// same workflow task; the state engine records the second one's result
// (another inline value). The first one's parked code saw its own value:
// it must not go on from there, but replay the recorded history.
func TestSessionsReplayWhenAnotherResultWasRecorded(t *testing.T) {
	var draws atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, sessPick, func(ctx weft.Context, _ int) (int, error) {
		v, err := weft.Inline(ctx, func() (int, error) { return int(draws.Add(1)), nil })
		if err != nil {
			return 0, err
		}
		if _, err := weft.Call(ctx, sessStep, 0); err != nil { // the same task whatever v
			return 0, err
		}
		return v, nil
	}))
	a, b := reg.NewSessions(0), reg.NewSessions(0)
	defer a.Close()
	defer b.Close()
	s, wt := applyAll(t, nil, "d", &core.DispatchWorkflow{WorkflowID: "p", Workflow: "SessPick", Method: "run", Input: []byte("0")})
	resA, _ := a.RunWorkflowTask(wt, nil) // draws 1
	resB, _ := b.RunWorkflowTask(wt, nil) // draws 2: the one recorded
	s, _ = applyAll(t, s, "wt-b", resB)
	_, next := applyAll(t, s, "done", completeTask(t, resB, 0))
	if resA == nil || next == nil {
		t.Fatal("setup")
	}
	final, err := a.RunWorkflowTask(next, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := final.(*core.WorkflowTaskCompleted); !ok || !c.Returned || string(c.Value) != "2" {
		t.Fatalf("result %#v, want the recorded inline value 2", final)
	}
}

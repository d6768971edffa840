package weft

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/weftio/weft/core"
)

// TestAbandonedWorkflowTaskReadsNoLiveState: RunWorkflowTask may be given
// the caller's live method run (the state engine's fast path does). When
// the task times out, its goroutine cannot be stopped; if it is inside a
// weft call at that moment, it finishes the call after RunWorkflowTask has
// returned, while the caller already changes the run (here: a task result
// recorded). Run with -race: the call must read its own copy.
func TestAbandonedWorkflowTaskReadsNoLiveState(t *testing.T) {
	work := NewTask[int, int]("Abandon", "work")
	wf := NewWorkflow[int, int]("Abandon", "run")
	reg := NewRegistry()
	MustRegister(RegisterWorkflow(reg, wf, func(ctx Context, n int) (int, error) {
		d := Dispatch(ctx, work, n)
		if err := Sleep(ctx, time.Minute); err != nil {
			return 0, err
		}
		for d.Status() == core.StateOngoing { // polls until the task is done
		}
		return d.Await()
	}, WithWorkflowTaskTimeout(100*time.Millisecond)))

	// The history the second workflow task replays: the task dispatched
	// and still running, the minute slept.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, err := core.Apply(nil, core.Input{ID: "dispatch", Instant: t0, Msg: &core.DispatchWorkflow{WorkflowID: "a1", Workflow: "Abandon", Method: "run", Input: []byte("1")}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	s := tr.State
	first, _ := reg.RunWorkflowTask(runningTask(t, tr))
	if tr, err = core.Apply(s, core.Input{ID: "wt-1", Instant: t0, Msg: first}, t0); err != nil {
		t.Fatal(err)
	}
	run := s.Method("a1")
	if len(run.Commands) != 2 {
		t.Fatalf("setup: commands %+v", run.Commands)
	}
	t1 := t0.Add(time.Minute)
	if tr, err = core.Apply(s, core.Input{ID: "timer", Instant: t1, Msg: &core.CommandResult{Kind: core.TimerCompleted, Workflow: "Abandon",
		WorkflowID: "a1", MethodRunID: "a1", CommandID: run.Commands[1].ID}}, t1); err != nil {
		t.Fatal(err)
	}
	second := runningTask(t, tr)
	if second.Method != run {
		t.Fatal("setup: the task does not carry the live method run")
	}

	held := false
	hold := func(c *wfContext) {
		// The first poll of the second task (past the sleep, at position
		// 2) is held past its timeout, inside the weft call (with no
		// synchronisation with the caller on the way).
		if c.task.Index == second.Index && c.task.WorkflowID == "a1" && c.r.Position() == 2 && !held {
			held = true
			time.Sleep(300 * time.Millisecond)
		}
	}
	testHookWeftCall.Store(&hold)
	defer testHookWeftCall.Store(nil)
	res, _ := reg.RunWorkflowTask(second)
	if f, ok := res.(*core.WorkflowTaskFailed); !ok || f.Error == nil {
		t.Fatalf("second workflow task = %#v, want a timeout failure", res)
	}
	// What the engine goes on doing with the live state: the task's result.
	if _, err := core.Apply(s, core.Input{ID: "wtf-2", Instant: t1, Msg: res}, t1); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Apply(s, core.Input{ID: "done", Instant: t1, Msg: &core.CommandResult{Kind: core.TaskCompleted, Workflow: "Abandon",
		WorkflowID: "a1", MethodRunID: "a1", CommandID: run.Commands[0].ID, Value: json.RawMessage("1")}}, t1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // the held call goes on meanwhile
}

func runningTask(t *testing.T, tr core.Transition) *core.ExecuteWorkflowTask {
	t.Helper()
	for _, o := range tr.Outputs {
		if task, ok := o.Msg.(*core.ExecuteWorkflowTask); ok {
			return task
		}
	}
	t.Fatalf("no workflow task dispatched: %+v", tr.Outputs)
	return nil
}

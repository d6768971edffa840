package core

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// runningInstance returns the state of a freshly dispatched instance with
// its first workflow task in flight.
func runningInstance(t *testing.T) *WorkflowState {
	t.Helper()
	tr, err := Apply(nil, Input{ID: "in-1", Instant: sampleT0, Msg: &DispatchWorkflow{WorkflowID: "w-1", Workflow: "W", Method: "run"}}, sampleT0)
	if err != nil || tr.State == nil || tr.State.Running == nil {
		t.Fatalf("dispatch: %v %+v", err, tr.State)
	}
	return tr.State
}

func TestApplyRejectsInvalidDispatch(t *testing.T) {
	t.Parallel()
	for _, m := range []*DispatchWorkflow{{Workflow: "W", Method: "run"}, {WorkflowID: "w", Method: "run"}, {WorkflowID: "w", Workflow: "W"}} {
		tr, err := Apply(nil, Input{ID: "in-1", Instant: sampleT0, Msg: m}, sampleT0)
		if de := (*DecodeError)(nil); !errors.As(err, &de) || tr.State != nil || len(tr.Outputs) > 0 || tr.Changed {
			t.Errorf("%+v: %v, %+v", m, err, tr)
		}
	}
}

func TestApplyRejectsMessagesForOtherRoles(t *testing.T) {
	t.Parallel()
	s := runningInstance(t)
	for _, m := range []Message{&ExecuteTask{TaskID: "t"}, &ExecuteWorkflowTask{TaskID: "t"}, &MethodOutcome{Kind: MethodCompleted}} {
		tr, err := Apply(s, Input{ID: "in-x", Instant: sampleT0, Msg: m}, sampleT0)
		if de := (*DecodeError)(nil); !errors.As(err, &de) || tr.Changed || len(tr.Outputs) > 0 {
			t.Errorf("%s: %v, %+v", m.MessageType(), err, tr)
		}
	}
}

// A message that decodes must never crash the state engine (design 5.14):
// a workflow task result listing a null command is such a message.
func TestApplyNullCommandDoesNotPanic(t *testing.T) {
	t.Parallel()
	s := runningInstance(t)
	data := json.RawMessage(`{"v":1,"workflowId":"w-1","workflow":"W","taskId":"` + s.Running.ID + `","methodRunId":"w-1","commands":[null]}`)
	m, err := DecodeMessage(Envelope{ID: "in-2", Type: "weft.engine.WorkflowTaskCompleted", Data: data})
	if err != nil {
		return // rejecting it at decoding is fine too
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Apply panicked: %v", p)
		}
	}()
	if _, err := Apply(s, Input{ID: "in-2", Instant: sampleT0.Add(time.Second), Msg: m}, sampleT0.Add(time.Second)); err == nil {
		t.Fatal("a null command was accepted")
	}
}

// TestWorkflowTaskIDNamesTheMessageApplied: two state engines applying
// different messages to the same stored state in the same millisecond both
// dispatch workflow task k+1; the tasks carry different histories, so they
// must have different ids, or the loser's stale result would be accepted.
func TestWorkflowTaskIDNamesTheMessageApplied(t *testing.T) {
	t.Parallel()
	s := runningInstance(t)
	a := &Command{ID: "cmd-a", Position: 0, Kind: KindTask, Name: "S.a", Service: "S", Method: "a"}
	b := &Command{ID: "cmd-b", Position: 1, Kind: KindTimer, Name: "timer", Duration: time.Minute}
	step := &Step{Position: 2, Node: StepNode{Op: OpOr, Children: []StepNode{Leaf("cmd-a", 0), Leaf("cmd-b", 0)}}}
	step.Hash = step.Node.Hash()
	t1 := sampleT0.Add(time.Second)
	tr, err := Apply(s, Input{ID: "in-2", Instant: t1, Msg: &WorkflowTaskCompleted{WorkflowID: "w-1", Workflow: "W", TaskID: s.Running.ID,
		MethodRunID: "w-1", Commands: []*Command{a, b}, Step: step}}, t1)
	if err != nil || tr.State.Running != nil {
		t.Fatalf("workflow task result: %v, running %+v", err, tr.State.Running)
	}
	stored, err := EncodeState(tr.State)
	if err != nil {
		t.Fatal(err)
	}
	same := sampleT0.Add(time.Minute)
	apply := func(id string, m Message) *RunningTask {
		s, err := DecodeState(stored)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Apply(s, Input{ID: id, Instant: same, Msg: m}, same)
		if err != nil || tr.State.Running == nil {
			t.Fatalf("%s: %v, running %+v", id, err, tr.State.Running)
		}
		return tr.State.Running
	}
	byTask := apply("in-task", &CommandResult{Kind: TaskCompleted, Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", CommandID: "cmd-a", Value: []byte("1")})
	byTimer := apply("in-timer", &CommandResult{Kind: TimerCompleted, Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", CommandID: "cmd-b"})
	if byTask.Index != byTimer.Index {
		t.Fatalf("setup: indexes %d and %d", byTask.Index, byTimer.Index)
	}
	if byTask.ID == byTimer.ID {
		t.Fatalf("two different messages dispatched workflow task %d with the same id %s", byTask.Index, byTask.ID)
	}
	if again := apply("in-task", &CommandResult{Kind: TaskCompleted, Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", CommandID: "cmd-a", Value: []byte("1")}); again.ID != byTask.ID {
		t.Fatalf("the same message on the same state gave ids %s and %s", byTask.ID, again.ID)
	}
}

// TestApplyNamesWhatItDrops: a message with nothing to act on and nothing
// to answer says why, so the state engine can count, log or dead-letter it;
// one that is answered, applied or a redelivery is not dropped.
func TestApplyNamesWhatItDrops(t *testing.T) {
	t.Parallel()
	result := func() Message {
		return &CommandResult{Kind: TaskCompleted, Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", CommandID: "c-1", Value: json.RawMessage(`1`)}
	}
	signal := func() Message {
		return &SendSignal{Workflow: "W", WorkflowID: "w-1", Channel: "ch", SignalID: "s-1", Data: json.RawMessage(`1`)}
	}
	ended := runningInstance(t)
	ended.Result = &Result{State: StateCompleted, EndedAt: sampleT0}
	ended.Running = nil
	other := runningInstance(t)
	other.WorkflowName = "V"
	cases := []struct {
		name  string
		state *WorkflowState
		msg   Message
		want  Drop
	}{
		{"result, no instance", nil, result(), DroppedNoInstance},
		{"signal, no instance", nil, signal(), DroppedNoInstance},
		{"cancel, no instance", nil, &CancelWorkflow{Workflow: "W", WorkflowID: "w-1"}, DroppedNoInstance},
		{"result, the id of another workflow's instance", other, result(), DroppedNoInstance},
		{"result, ended", ended, result(), DroppedEnded},
		{"signal, ended", ended, signal(), DroppedEnded},
		{"wait, no instance: answered", nil, &WaitWorkflow{Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", Client: "c"}, NotDropped},
		{"method, no instance: answered", nil, &DispatchMethod{Workflow: "W", WorkflowID: "w-1", MethodRunID: "m-1", Method: "m", Requester: &Requester{Client: "c"}, ClientWaiting: true}, NotDropped},
		{"signal, running", runningInstance(t), signal(), NotDropped},
	}
	for _, c := range cases {
		tr, err := Apply(c.state, Input{ID: "in-9", Instant: sampleT0, Msg: c.msg}, sampleT0)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if tr.Dropped != c.want {
			t.Errorf("%s: Dropped = %v, want %v", c.name, tr.Dropped, c.want)
		}
	}
	s := runningInstance(t)
	if tr, _ := Apply(s, Input{ID: "in-1", Instant: sampleT0, Msg: result()}, sampleT0); tr.Dropped != NotDropped {
		t.Errorf("redelivery of the last message: Dropped = %v, want not dropped", tr.Dropped)
	}
}

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

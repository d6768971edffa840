package weft_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// bothPaths runs f with workflow tasks going through the broker and with the
// state engine's in-process fast path: the recorded results must not differ.
func bothPaths(t *testing.T, f func(t *testing.T, fast bool)) {
	t.Helper()
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			t.Parallel()
			f(t, fast)
		})
	}
}

// dispatchSim sends a DispatchWorkflow from a waiting client "c1".
func dispatchSim(s *sim.Sim, workflow, method, id string, input any, tags []string, meta map[string]string) {
	in, err := json.Marshal(input)
	if err != nil {
		s.T.Fatal(err)
	}
	s.Send(core.Topic(core.PrefixWorkflowCmd, workflow), id, &core.DispatchWorkflow{
		WorkflowID: id, Workflow: workflow, Method: method, Input: in, Tags: tags, Meta: meta,
		Requester: &core.Requester{Client: "c1"}, ClientWaiting: true})
}

// signalSim sends a signal to an instance from outside.
func signalSim(s *sim.Sim, workflow, id, channel, signalID, signalType string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.T.Fatal(err)
	}
	s.Send(core.Topic(core.PrefixWorkflowCmd, workflow), id, &core.SendSignal{
		WorkflowID: id, Workflow: workflow, Channel: channel, SignalID: signalID, SignalType: signalType, Data: data})
}

// onlyOutcome returns the single answer the client got for id.
func onlyOutcome(t *testing.T, s *sim.Sim, id string) *core.MethodOutcome {
	t.Helper()
	outs := s.Outcomes(id)
	if len(outs) != 1 {
		t.Fatalf("%s: %d outcomes, want 1: %+v (dead letters: %+v)", id, len(outs), outs, s.DeadLetters)
	}
	return outs[0]
}

// completedWith checks that id completed with the JSON value want.
func completedWith(t *testing.T, s *sim.Sim, id, want string) {
	t.Helper()
	o := onlyOutcome(t, s, id)
	if o.Kind != core.MethodCompleted || string(o.Value) != want {
		t.Fatalf("%s: outcome %s %s (error: %v), want completed with %s", id, o.Kind, o.Value, o.Error, want)
	}
	if len(s.DeadLetters) > 0 {
		t.Fatalf("%s: dead letters: %+v", id, s.DeadLetters)
	}
}

// failedWith checks that id failed and returns its error.
func failedWith(t *testing.T, s *sim.Sim, id string) *weft.Error {
	t.Helper()
	o := onlyOutcome(t, s, id)
	if o.Kind != core.MethodFailed || o.Error == nil {
		t.Fatalf("%s: outcome %s %s (error: %v), want a failure", id, o.Kind, o.Value, o.Error)
	}
	return o.Error
}

// ended reports whether the instance has a result record.
func ended(s *sim.Sim, id string) bool {
	st := s.State(id)
	return st != nil && st.Result != nil
}

// chain lists the weft errors of err's cause chain, outermost first.
func chain(err error) []*weft.Error {
	var out []*weft.Error
	var e *weft.Error
	if !errors.As(err, &e) {
		return nil
	}
	for ; e != nil; e = e.Cause {
		out = append(out, e)
	}
	return out
}

// codes renders the codes of a chain, e.g. "workflow_failed<-task_failed".
func codes(err error) string {
	var parts []string
	for _, e := range chain(err) {
		parts = append(parts, string(e.Code))
	}
	return strings.Join(parts, "<-")
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

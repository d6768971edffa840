package functions_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

func tagEnvelope(t *testing.T, m core.Message, id string) core.Envelope {
	t.Helper()
	env, err := core.BuildEnvelope(core.TagOut(m), id, time.Unix(1, 0), "test", time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestByTagFansOutInPages checks a by-tag command reaches every tagged
// instance exactly once, a page per step, skipping the sender, and that
// handling a step twice yields the same envelopes.
func TestByTagFansOutInPages(t *testing.T) {
	ctx := context.Background()
	ks := memory.New()
	eng, err := functions.NewTagEngine(functions.TagEngineConfig{Workflows: []string{"W"}, Tags: ks, PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 8 {
		id := string(rune('a' + i))
		if _, err := eng.Handle(ctx, tagEnvelope(t, &core.AddTagToWorkflow{Workflow: "W", Tag: "batch", WorkflowID: id}, "add-"+id)); err != nil {
			t.Fatal(err)
		}
		if id != "c" {
			want = append(want, id)
		}
	}
	cmd, err := core.NewWorkflowByTag("W", "batch", &core.CancelWorkflow{Workflow: "W"}, "c")
	if err != nil {
		t.Fatal(err)
	}
	env := tagEnvelope(t, cmd, "by-tag-1")
	var got []string
	for steps := 0; ; steps++ {
		if steps > 5 {
			t.Fatal("fan-out does not end")
		}
		res, err := eng.Handle(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		again, err := eng.Handle(ctx, env)
		if err != nil || len(again.Outputs) != len(res.Outputs) || (len(res.Outputs) > 0 && again.Outputs[0].ID != res.Outputs[0].ID) {
			t.Fatalf("handling a step twice gave other envelopes")
		}
		var cont *core.Envelope
		for _, o := range res.Outputs {
			m, err := core.DecodeMessage(o)
			if err != nil {
				t.Fatal(err)
			}
			switch m := m.(type) {
			case *core.CancelWorkflow:
				if o.Topic != "workflow-cmd:W" || o.PartitionKey != m.WorkflowID {
					t.Errorf("cancel of %s sent to %s key %s", m.WorkflowID, o.Topic, o.PartitionKey)
				}
				got = append(got, m.WorkflowID)
			case *core.WorkflowByTag:
				o := o
				cont = &o
			default:
				t.Fatalf("unexpected output %T", m)
			}
		}
		if cont == nil {
			break
		}
		env = *cont
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("cancelled %v, want %v", got, want)
	}
}

func TestTagEngineRejectsBadInput(t *testing.T) {
	ks := memory.New()
	// With a member under the tag, a by-tag command must be decodable.
	if err := ks.Add(context.Background(), core.TagKey("W", "t"), []byte("i1")); err != nil {
		t.Fatal(err)
	}
	eng, err := functions.NewTagEngine(functions.TagEngineConfig{Workflows: []string{"W"}, Tags: ks})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]core.Message{
		"not a customId tag": &core.DispatchWorkflowByCustomID{Tag: "plain", Dispatch: core.DispatchWorkflow{Workflow: "W", WorkflowID: "x", Method: "m"}},
		"no workflow id":     &core.AddTagToWorkflow{Workflow: "W", Tag: "t"},
		"bad by-tag command": &core.WorkflowByTag{Workflow: "W", Tag: "t", Type: "weft.cmd.DispatchWorkflow", Data: []byte(`{"v":1}`)},
	} {
		if _, err := eng.Handle(context.Background(), tagEnvelope(t, m, "bad")); !functions.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

// TestDelegatedRedeliveriesAfterTheJoin: once delegation and completion
// met, redelivered delegations and other completions answer nobody again
// (the message that joined them answers again with the same envelope, for
// a crash after the write), and a retry of the task (a newer retry
// sequence) starts a fresh join.
func TestDelegatedRedeliveriesAfterTheJoin(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	eng, err := functions.NewTagEngine(functions.TagEngineConfig{Services: []string{"S"}, Tags: memory.New(), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	req := &core.Requester{Workflow: "W", WorkflowID: "w1", MethodRunID: "w1"}
	set := func(seq int) core.Envelope {
		env, err := core.BuildEnvelope(core.TaskTagOut(&core.SetDelegatedTask{TaskID: "t1", Service: "S", Method: "m", RetrySeq: seq, Requester: req}),
			fmt.Sprint("set-", seq), time.Unix(1, 0), "test", time.Unix(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	done := func(id, value string) core.Envelope {
		env, err := core.BuildEnvelope(core.TaskTagOut(&core.CompleteDelegatedTask{TaskID: "t1", Service: "S", Value: []byte(value)}),
			id, time.Unix(2, 0), "test", time.Unix(2, 0))
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	answered := map[string]bool{} // distinct answers, by envelope id
	answers := 0
	handle := func(env core.Envelope) {
		t.Helper()
		err := functions.ProcessEnvelope(ctx, eng, env, func(_ context.Context, envs ...core.Envelope) error {
			for _, o := range envs {
				if o.Type == "weft.engine.TaskCompleted" && !answered[o.ID] {
					answered[o.ID] = true
					answers++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	handle(set(0))
	handle(done("c1", `1`))
	if answers != 1 {
		t.Fatalf("%d answers after the join, want 1", answers)
	}
	handle(set(0))          // redelivered delegation
	handle(done("c1", `1`)) // redelivered completion
	handle(done("c2", `2`)) // a second completion
	if answers != 1 {
		t.Errorf("%d answers after redeliveries, want still 1", answers)
	}
	handle(set(1)) // RetryTasks ran the task again
	handle(done("c3", `3`))
	if answers != 2 {
		t.Errorf("%d answers after a retried attempt completed, want 2", answers)
	}
}

// hookKV runs hook once, just before the next Put.
type hookKV struct {
	storage.KeyValue
	hook func()
}

func (h *hookKV) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return h.KeyValue.Put(ctx, key, value, expected, ttl)
}

// TestDelegatedConcurrentCompletionsAnswerOnce: two completions of one
// delegated task handled at once (two replicas, no per-key order) both try
// to join; the one that loses the write must not answer, so the caller
// gets exactly the winner's value.
func TestDelegatedConcurrentCompletionsAnswerOnce(t *testing.T) {
	ctx := context.Background()
	store := &hookKV{KeyValue: memory.New()}
	eng, err := functions.NewTagEngine(functions.TagEngineConfig{Services: []string{"S"}, Tags: memory.New(), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	req := &core.Requester{Workflow: "W", WorkflowID: "w1", MethodRunID: "w1"}
	env := func(m core.Message, id string) core.Envelope {
		e, err := core.BuildEnvelope(core.TaskTagOut(m), id, time.Unix(1, 0), "test", time.Unix(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var answers []string
	publish := func(_ context.Context, envs ...core.Envelope) error {
		for _, o := range envs {
			if o.Type == "weft.engine.TaskCompleted" {
				m, err := core.DecodeMessage(o)
				if err != nil {
					t.Fatal(err)
				}
				answers = append(answers, string(m.(*core.CommandResult).Value))
			}
		}
		return nil
	}
	process := func(e core.Envelope) {
		t.Helper()
		if err := functions.ProcessEnvelope(ctx, eng, e, publish); err != nil {
			t.Fatal(err)
		}
	}
	process(env(&core.SetDelegatedTask{TaskID: "t1", Service: "S", Method: "m", Requester: req}, "set"))
	store.hook = func() {
		process(env(&core.CompleteDelegatedTask{TaskID: "t1", Service: "S", Value: []byte(`"second"`)}, "c2"))
	}
	process(env(&core.CompleteDelegatedTask{TaskID: "t1", Service: "S", Value: []byte(`"first"`)}, "c1"))
	if len(answers) != 1 || answers[0] != `"second"` {
		t.Fatalf("answers %v, want only the winner's \"second\"", answers)
	}
}

// TestConcurrentCustomIDDispatchesStartOneInstance: two dispatches of one
// customId handled at once by two replicas (no per-key order) both find
// no instance; the claim lets one start it and the other attach to it.
func TestConcurrentCustomIDDispatchesStartOneInstance(t *testing.T) {
	ctx := context.Background()
	store := &hookKV{KeyValue: memory.New()}
	eng, err := functions.NewTagEngine(functions.TagEngineConfig{Workflows: []string{"W"}, Tags: memory.New(), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	dispatch := func(id string) core.Envelope {
		return tagEnvelope(t, &core.DispatchWorkflowByCustomID{Tag: "customId:order-1", Dispatch: core.DispatchWorkflow{
			WorkflowID: id, Workflow: "W", Method: "run", Tags: []string{"customId:order-1"}, Requester: &core.Requester{Client: "c-" + id}, ClientWaiting: true}}, "d-"+id)
	}
	started, waits := map[string]bool{}, map[string]string{}
	publish := func(_ context.Context, envs ...core.Envelope) error {
		for _, o := range envs {
			m, err := core.DecodeMessage(o)
			if err != nil {
				t.Fatal(err)
			}
			switch m := m.(type) {
			case *core.DispatchWorkflow:
				started[m.WorkflowID] = true
			case *core.WaitWorkflow:
				waits[m.As] = m.WorkflowID
			}
		}
		return nil
	}
	store.hook = func() { // b is handled between a's read and a's claim
		if err := functions.ProcessEnvelope(ctx, eng, dispatch("b"), publish); err != nil {
			t.Fatal(err)
		}
	}
	if err := functions.ProcessEnvelope(ctx, eng, dispatch("a"), publish); err != nil {
		t.Fatal(err)
	}
	if len(started) != 1 || !started["b"] || waits["a"] != "b" {
		t.Fatalf("started %v, waits %v: want only b started and a waiting for it", started, waits)
	}
	// Once b ends and releases the value, a new dispatch starts again.
	if err := functions.ProcessEnvelope(ctx, eng, tagEnvelope(t, &core.RemoveTagFromWorkflow{Workflow: "W", Tag: "customId:order-1", WorkflowID: "b"}, "rm-b"), publish); err != nil {
		t.Fatal(err)
	}
	if err := functions.ProcessEnvelope(ctx, eng, dispatch("c"), publish); err != nil {
		t.Fatal(err)
	}
	if !started["c"] {
		t.Fatalf("after the release, c did not start: started %v", started)
	}
}

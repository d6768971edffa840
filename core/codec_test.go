package core

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var sampleT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func sampleError() *Error {
	return &Error{
		Code: CodeTaskFailed, Message: "card declined", Service: "Billing", Method: "charge", TaskID: "t-1",
		Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "order-42",
		Failure: &Failure{Type: "*billing.Declined", Message: "card declined", RetrySequence: 1, RetryIndex: 2,
			Previous: &Failure{Type: "*net.OpError", Message: "timeout", RetrySequence: 1, RetryIndex: 1}},
		Cause: &Error{Code: CodeExecutionTimedOut, Message: "deadline"},
	}
}

func sampleMethodRun() *MethodRun {
	return &MethodRun{
		ID: "order-42", Name: "run", Input: json.RawMessage(`{"sku":"A1","qty":2}`),
		Requester:      &Requester{Client: "web-1"},
		WaitingClients: []string{"web-1", "cli"},
		IndexAtStart:   1, PropsAtStart: "p0",
		Commands: []*Command{
			{ID: "c-task", Position: 0, Kind: KindTask, Name: "Billing.charge", Service: "Billing", Method: "charge",
				Input: json.RawMessage(`[1,2]`), Timeout: 30 * time.Second, Tags: []string{"vip"}, Meta: map[string]string{"k": "v"}, RetrySeq: 1,
				Statuses: []Status{{State: StateFailed, Index: 2, Error: sampleError()}, {State: StateOngoing, Index: 3}, {State: StateCompleted, Index: 4, Value: json.RawMessage(`"ok"`)}}},
			{ID: "c-timer", Position: 2, Kind: KindTimer, Name: "timer", Duration: time.Hour, Until: sampleT0.Add(2 * time.Hour)},
			{ID: "c-recv", Position: 3, Kind: KindReceive, Name: "approve", Channel: "approve", SignalType: "Approval",
				Filter: &SignalFilter{Path: "by.role", Value: json.RawMessage(`"admin"`)}, Limit: 2,
				Statuses: []Status{{State: StateCompleted, Index: 5, Value: json.RawMessage(`{"by":{"role":"admin"}}`), ReturnIndex: 1, SignalID: "s-1"}}},
			{ID: "c-child", Position: 4, Kind: KindChild, Name: "Ship.run", Workflow: "Ship", Method: "run", TargetID: "c-child"},
		},
		Steps: []*Step{{Position: 1, Node: Leaf("c-task", 0), Hash: Leaf("c-task", 0).Hash(), IndexAtStart: 1,
			Outcome: &Outcome{State: StateCompleted, Value: json.RawMessage(`"ok"`), Winner: -1, Index: 4}, IndexAtEnd: 4, PropsAtEnd: "p1"}},
		Current: &Step{Position: 5, Node: StepNode{Op: OpOr, Children: []StepNode{Leaf("c-timer", 0), {Op: OpAnd, Children: []StepNode{Leaf("c-recv", 0), Leaf("c-recv", 1)}}}},
			Hash: "h", IndexAtStart: 5},
		Returned: true, Value: json.RawMessage(`42`),
		Failure:     sampleError(),
		LastTrigger: sampleT0.Add(time.Minute),
	}
}

// sampleMessages returns one populated instance of every message type.
func sampleMessages() []Message {
	req := &Requester{Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "order-42"}
	msgs := []Message{
		&DispatchWorkflow{WorkflowID: "order-42", Workflow: "Checkout", Method: "run", Input: json.RawMessage(`{"sku":"A1"}`),
			Tags: []string{"customId:42", "vip"}, Meta: map[string]string{"tenant": "acme"}, Requester: &Requester{Client: "web-1"}, ClientWaiting: true},
		&DispatchMethod{WorkflowID: "order-42", Workflow: "Checkout", MethodRunID: "m-2", Method: "cancelLine", Input: json.RawMessage(`3`), Requester: req, ClientWaiting: true},
		&WaitWorkflow{WorkflowID: "order-42", Workflow: "Checkout", MethodRunID: "order-42", Client: "web-1", Requester: req, As: "order-43"},
		&AddTagToWorkflow{Workflow: "Checkout", Tag: "vip", WorkflowID: "order-42"},
		&AddTaskTag{Service: "Billing", Tag: "batch", TaskID: "t-1"},
		&RemoveTaskTag{Service: "Billing", Tag: "batch", TaskID: "t-1"},
		&SetDelegatedTask{TaskID: "t-1", Service: "Billing", Method: "charge", RetrySeq: 2, Requester: req},
		&CompleteDelegatedTask{TaskID: "t-1", Service: "Billing", Value: json.RawMessage(`{"ok":true}`), Error: sampleError()},
		&RemoveTagFromWorkflow{Workflow: "Checkout", Tag: "vip", WorkflowID: "order-42"},
		&DispatchWorkflowByCustomID{Tag: "customId:42", WaitOnly: true, Dispatch: DispatchWorkflow{WorkflowID: "order-42", Workflow: "Checkout",
			Method: "run", Tags: []string{"customId:42"}, Requester: req}},
		&WorkflowByTag{Workflow: "Checkout", Tag: "vip", Type: "weft.cmd.CancelWorkflow", Data: json.RawMessage(`{"v":1,"workflowId":"","workflow":"Checkout"}`),
			Skip: "order-1", Cursor: "c1"},
		&CancelWorkflow{WorkflowID: "order-42", Workflow: "Checkout", MethodRunID: "m-2", Reason: ReasonCanceledByClient},
		&RetryWorkflowTask{WorkflowID: "order-42", Workflow: "Checkout"},
		&RetryTasks{WorkflowID: "order-42", Workflow: "Checkout", TaskID: "t-1", State: StateFailed, Service: "Billing"},
		&CompleteTimers{WorkflowID: "order-42", Workflow: "Checkout", MethodRunID: "order-42"},
		&SendSignal{WorkflowID: "order-42", Workflow: "Checkout", Channel: "approve", SignalID: "s-1", SignalType: "Approval", Data: json.RawMessage(`{"ok":true}`)},
		&WorkflowTaskCompleted{WorkflowID: "order-42", Workflow: "Checkout", TaskID: "wt-3", MethodRunID: "order-42", CodeVersion: 2,
			Commands: sampleMethodRun().Commands, Step: sampleMethodRun().Current, Props: json.RawMessage(`{"count":3}`), Returned: true, Value: json.RawMessage(`"done"`)},
		&WorkflowTaskFailed{WorkflowID: "order-42", Workflow: "Checkout", TaskID: "wt-3", MethodRunID: "order-42", CodeVersion: 2, Error: sampleError()},
		&ExecuteTask{TaskID: "t-1", Service: "Billing", Method: "charge", Input: json.RawMessage(`{"amount":1999}`), RetrySeq: 1, RetryIndex: 2,
			Requester: req, Tags: []string{"vip"}, Meta: map[string]string{"k": "v"},
			LastFailure: &Failure{Type: "E", Message: "boom", RetryIndex: 1, Previous: &Failure{Message: "first"}}},
		&ExecuteWorkflowTask{TaskID: "wt-3", WorkflowID: "order-42", Workflow: "Checkout", CodeVersion: 2, Pinned: true,
			Tags: []string{"vip"}, Meta: map[string]string{"tenant": "acme"}, Index: 3, Trigger: sampleT0.Add(90 * time.Second),
			Method: sampleMethodRun(), Props: map[string]json.RawMessage{"p0": json.RawMessage(`{}`), "p1": json.RawMessage(`{"count":1}`)}},
	}
	for _, k := range []ResultKind{TaskCompleted, TaskFailed, TaskTimedOut, ChildCompleted, ChildFailed, ChildCanceled, ChildTimedOut, ChildUnknown, TimerCompleted} {
		msgs = append(msgs, &CommandResult{Kind: k, WorkflowID: "order-42", Workflow: "Checkout", MethodRunID: "order-42", CommandID: "c-" + string(k),
			RetrySeq: 3, Value: json.RawMessage(`{"n":1}`), Error: sampleError()})
	}
	for _, k := range EventKinds {
		msgs = append(msgs, &Event{Kind: k, Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "order-42", Method: "run",
			Service: "Billing", TaskID: "t-1", RetrySeq: 1, RetryIndex: 2, Requester: req, Tags: []string{"vip"},
			Meta: map[string]string{"k": "v"}, Input: json.RawMessage(`{"a":1}`), Value: json.RawMessage(`2`), Error: sampleError(),
			RetryAt: sampleT0, Channel: "approve", SignalID: "s-1", CommandID: "c-1"})
	}
	for _, k := range []OutcomeKind{MethodCompleted, MethodFailed, MethodCanceled, MethodUnknown} {
		msgs = append(msgs, &MethodOutcome{Kind: k, Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "order-42",
			Value: json.RawMessage(`[true,null]`), Error: sampleError()})
	}
	return msgs
}

// roundTrip encodes m as an envelope's data and decodes it back.
func roundTrip(t *testing.T, m Message) Message {
	t.Helper()
	data, err := EncodeMessage(m)
	if err != nil {
		t.Fatalf("encode %s: %v", m.MessageType(), err)
	}
	got, err := DecodeMessage(Envelope{ID: "m-1", Type: m.MessageType(), Data: data})
	if err != nil {
		t.Fatalf("decode %s: %v", m.MessageType(), err)
	}
	return got
}

func TestSampleMessagesCoverEveryType(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, m := range sampleMessages() {
		if seen[m.MessageType()] {
			t.Errorf("type %s sampled twice", m.MessageType())
		}
		seen[m.MessageType()] = true
		if !KnownMessageType(m.MessageType()) {
			t.Errorf("sample type %s is not known", m.MessageType())
		}
	}
	for typ := range messageFactories {
		if !seen[typ] {
			t.Errorf("no sample of message type %s", typ)
		}
	}
}

func TestEveryMessageRoundTrips(t *testing.T) {
	t.Parallel()
	for _, m := range sampleMessages() {
		t.Run(m.MessageType(), func(t *testing.T) {
			t.Parallel()
			got := roundTrip(t, m)
			if *m.schema() != MessageSchemaVersion {
				t.Fatalf("EncodeMessage did not stamp the schema version: %d", *m.schema())
			}
			if !reflect.DeepEqual(got, m) {
				a, _ := json.Marshal(got)
				b, _ := json.Marshal(m)
				t.Fatalf("round trip differs:\n got %s\nwant %s", a, b)
			}
		})
	}
}

func TestEveryMessageRoundTripsThroughTheWire(t *testing.T) {
	t.Parallel()
	for _, m := range sampleMessages() {
		env, err := BuildEnvelope(Out{Topic: "workflow-engine:Checkout", Key: "order-42", Subject: "order-42", Msg: m}, "in-1", sampleT0, "test", sampleT0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := EncodeEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMessage(back)
		if err != nil {
			t.Fatalf("%s: %v", m.MessageType(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: wire round trip differs", m.MessageType())
		}
	}
}

func TestEngineTargetOfEveryEngineMessage(t *testing.T) {
	t.Parallel()
	for _, m := range sampleMessages() {
		w, id, ok := EngineTarget(m)
		engine := strings.HasPrefix(m.MessageType(), typeCmd) || strings.HasPrefix(m.MessageType(), typeEngine)
		if ok != engine {
			t.Errorf("EngineTarget(%s) ok = %v", m.MessageType(), ok)
		}
		if ok && (w != "Checkout" || id != "order-42") {
			t.Errorf("EngineTarget(%s) = %s, %s", m.MessageType(), w, id)
		}
	}
}

func decodeErr(t *testing.T, typ, data string) *DecodeError {
	t.Helper()
	m, err := DecodeMessage(Envelope{ID: "m-9", Type: typ, Data: json.RawMessage(data)})
	if err == nil {
		t.Fatalf("decoded %T %+v", m, m)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v is not a *DecodeError", err, err)
	}
	if m != nil {
		t.Errorf("failed decode returned %+v", m)
	}
	return de
}

func TestDecodeMessageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, typ, data string
		want            []string
	}{
		{"unknown type", "weft.cmd.Explode", `{"v":1}`, []string{"m-9", `unknown type "weft.cmd.Explode"`}},
		{"empty type", "", `{"v":1}`, []string{`unknown type ""`}},
		{"type case matters", "weft.cmd.dispatchworkflow", `{"v":1}`, []string{"unknown type"}},
		{"schema version 2", "weft.cmd.DispatchWorkflow", `{"v":2,"workflowId":"w","workflow":"W","method":"m"}`, []string{"schema version 2", "reads 1"}},
		{"schema version missing", "weft.cmd.SendSignal", `{"workflowId":"w"}`, []string{"schema version 0"}},
		{"schema version 2 on a result", "weft.engine.TaskCompleted", `{"v":2,"kind":"TaskCompleted"}`, []string{"schema version"}},
		{"no data", "weft.cmd.WaitWorkflow", ``, []string{"no data"}},
		{"null data", "weft.cmd.WaitWorkflow", `null`, []string{"schema version 0"}},
		{"malformed data", "weft.cmd.WaitWorkflow", `{"v":1,`, []string{"malformed data"}},
		{"data of wrong shape", "weft.cmd.WaitWorkflow", `[1]`, []string{"malformed data"}},
		{"field of wrong type", "weft.executor.ExecuteTask", `{"v":1,"retrySeq":"three"}`, []string{"malformed data", "retrySeq"}},
		{"kind mismatch", "weft.engine.TaskCompleted", `{"v":1,"kind":"TimerCompleted","commandId":"c"}`,
			[]string{`data kind "weft.engine.TimerCompleted" does not match type "weft.engine.TaskCompleted"`}},
		{"outcome kind mismatch", "weft.client.MethodCompleted", `{"v":1,"kind":"MethodFailed"}`, []string{"does not match"}},
		{"empty kind", "weft.engine.TimerCompleted", `{"v":1,"kind":""}`, []string{"does not match"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			de := decodeErr(t, tc.typ, tc.data)
			for _, w := range tc.want {
				if !strings.Contains(de.Reason, w) {
					t.Errorf("reason %q does not contain %q", de.Reason, w)
				}
			}
		})
	}
}

func TestDecodeMessageKindDefaultsToEnvelopeType(t *testing.T) {
	t.Parallel()
	// A result without a kind takes the envelope's.
	m, err := DecodeMessage(Envelope{Type: "weft.engine.ChildFailed", Data: json.RawMessage(`{"v":1,"commandId":"c"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.(*CommandResult); r.Kind != ChildFailed || r.CommandID != "c" {
		t.Fatalf("decoded %+v", r)
	}
}

func TestBuildEnvelope(t *testing.T) {
	t.Parallel()
	inTime := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	now := time.Date(2026, 1, 1, 1, 0, 2, 0, time.FixedZone("CET", 3600))
	due := sampleT0.Add(time.Hour)
	out := func(value string) Out {
		return Out{Topic: "workflow-delay:W", Key: "w-1", Subject: "w-1", DeliverAt: due,
			Msg: &CommandResult{Kind: TimerCompleted, Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", CommandID: "c-1", Value: json.RawMessage(value)}}
	}
	env, err := BuildEnvelope(out(`1`), "in-1", inTime, "engine-a", now)
	if err != nil {
		t.Fatal(err)
	}
	if env.Type != "weft.engine.TimerCompleted" || env.Topic != "workflow-delay:W" || env.PartitionKey != "w-1" || env.Subject != "w-1" ||
		env.Source != "engine-a" || env.SpecVersion != SpecVersion || env.DataContentType != ContentTypeJSON {
		t.Fatalf("envelope %+v", env)
	}
	if env.Time != now.UTC() || env.Time.Location() != time.UTC {
		t.Errorf("time = %s, want now in UTC", env.Time)
	}
	if env.DeliverAt != "2026-01-01T01:00:00Z" {
		t.Errorf("deliverat = %q", env.DeliverAt)
	}
	if !uuidV7.MatchString(env.ID) || uuidMillis(t, env.ID) != inTime.UnixMilli() {
		t.Errorf("id %s is not a UUIDv7 of the input time", env.ID)
	}
	if err := env.Validate(); err != nil {
		t.Fatal(err)
	}

	id := func(o Out, inputID string, at time.Time, source string, now time.Time) string {
		t.Helper()
		e, err := BuildEnvelope(o, inputID, at, source, now)
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	// Handling the same input again, by another instance and later, gives the same ids.
	if again := id(out(`1`), "in-1", inTime, "engine-b", now.Add(time.Hour)); again != env.ID {
		t.Errorf("same input and content: id %s, then %s", env.ID, again)
	}
	differ := map[string]string{
		"content":     id(out(`2`), "in-1", inTime, "engine-a", now),
		"input id":    id(out(`1`), "in-2", inTime, "engine-a", now),
		"input time":  id(out(`1`), "in-1", inTime.Add(time.Second), "engine-a", now),
		"topic":       id(Out{Topic: "workflow-delay:X", Key: "w-1", DeliverAt: due, Msg: out(`1`).Msg}, "in-1", inTime, "engine-a", now),
		"key":         id(Out{Topic: "workflow-delay:W", Key: "w-2", DeliverAt: due, Msg: out(`1`).Msg}, "in-1", inTime, "engine-a", now),
		"deliverat":   id(Out{Topic: "workflow-delay:W", Key: "w-1", DeliverAt: due.Add(time.Second), Msg: out(`1`).Msg}, "in-1", inTime, "engine-a", now),
		"no deliver":  id(Out{Topic: "workflow-delay:W", Key: "w-1", Msg: out(`1`).Msg}, "in-1", inTime, "engine-a", now),
		"message typ": id(Out{Topic: "workflow-delay:W", Key: "w-1", DeliverAt: due, Msg: &CommandResult{Kind: TaskCompleted, Workflow: "W", WorkflowID: "w-1", MethodRunID: "w-1", CommandID: "c-1", Value: json.RawMessage(`1`)}}, "in-1", inTime, "engine-a", now),
	}
	seen := map[string]string{env.ID: "original"}
	for what, other := range differ {
		if prev, dup := seen[other]; dup {
			t.Errorf("changing the %s gives the id of %s: %s", what, prev, other)
		}
		seen[other] = what
	}
}

func TestBuildEnvelopeRejectsUnencodable(t *testing.T) {
	t.Parallel()
	_, err := BuildEnvelope(Out{Topic: "a:b", Msg: &SendSignal{Data: json.RawMessage(`{bad`)}}, "in", sampleT0, "s", sampleT0)
	if err == nil {
		t.Fatal("a message with invalid raw JSON was encoded")
	}
}

func TestChildIDIsDeterministic(t *testing.T) {
	t.Parallel()
	a := ChildID(sampleT0, "in-1", "synthetic", 1)
	if a != ChildID(sampleT0, "in-1", "synthetic", 1) {
		t.Fatal("ChildID is not deterministic")
	}
	for _, other := range []string{ChildID(sampleT0, "in-1", "synthetic", 2), ChildID(sampleT0, "in-2", "synthetic", 1), ChildID(sampleT0, "in-1", "local", 1)} {
		if other == a {
			t.Fatal("ChildID ignores one of its inputs")
		}
	}
}

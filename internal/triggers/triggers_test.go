package triggers_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/triggers"
)

type order struct {
	OrderID string `json:"orderId"`
	Amount  int    `json:"amount"`
}

var (
	orderFlow = weft.NewWorkflow[order, string]("OrderFlow", "run")
	refund    = weft.NewWorkflow[order, string]("OrderFlow", "refund")
)

func registry(t *testing.T) *weft.Registry {
	t.Helper()
	reg := weft.NewRegistry()
	run := func(ctx weft.Context, o order) (string, error) { return o.OrderID, nil }
	if err := weft.RegisterWorkflow(reg, orderFlow, run); err != nil {
		t.Fatal(err)
	}
	if err := weft.RegisterWorkflow(reg, refund, run); err != nil {
		t.Fatal(err)
	}
	return reg
}

func cloudEvent(t *testing.T, typ, id string, data string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("shop")
	e.SetType(typ)
	e.SetSubject("customer-7")
	e.SetTime(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	if err := e.SetData(event.ApplicationJSON, json.RawMessage(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

var now = time.Date(2026, 12, 7, 10, 0, 1, 0, time.UTC)

// TestCompileErrorsNameTheTriggerAndTheFault: every mistake in a mapping
// is reported at once, each naming its trigger and what is wrong,
// including input fields that are not the method's.
func TestCompileErrorsNameTheTriggerAndTheFault(t *testing.T) {
	_, err := triggers.Compile([]triggers.Trigger{
		{Type: "", Action: "dispatch", Workflow: "OrderFlow", Method: "run"},
		{Type: "a", Action: "launch", Workflow: "OrderFlow"},
		{Type: "b", Action: "dispatch", Workflow: "OrderFlow"},
		{Type: "c", Action: "signal", Workflow: "OrderFlow", ID: "$.id"},
		{Type: "d", Action: "cancel", Workflow: "OrderFlow", ID: "$.id", CustomID: "$.id"},
		{Type: "e", Action: "dispatch", Workflow: "OrderFlow", Method: "run", ID: "$[?bad"},
		{Type: "f", Action: "dispatch", Workflow: "OrderFlow", Method: "run", Input: map[string]any{"orderId": "$.id", "amout": "$.total"}},
		{Type: "g", Action: "dispatch", Workflow: "OrderFlow", Method: "ship"},
		{Type: "h", Action: "dispatch", Workflow: "OrderFlow", Method: "run", ID: "order-{$.id"},
		{Type: "i", Action: "cancel", Workflow: "OrderFlow", ID: "@subject"},
		{Type: "i", Action: "cancel", Workflow: "OrderFlow", CustomID: "$.id"},
	}, registry(t), "")
	if err == nil {
		t.Fatal("Compile accepted a broken mapping")
	}
	for _, want := range []string{
		`triggers[0] (type ""): type is required`,
		`triggers[1] (type "a"): action "launch" is not dispatch, signal, method or cancel`,
		`triggers[2] (type "b"): a dispatch needs the method to run`,
		`triggers[3] (type "c"): a signal needs its channel`,
		`triggers[4] (type "d"): a cancel needs exactly one of id, customId and tag`,
		`triggers[5] (type "e"): id "$[?bad": JSONPath`,
		`triggers[6] (type "f"): does not fit OrderFlow.run`, `amout`,
		`triggers[7] (type "g"): does not fit OrderFlow.ship`,
		`triggers[8] (type "h"): id "order-{$.id": a { without its }`,
		`triggers[10] (type "i"): maps the same type and source as triggers[9]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the errors do not say %q:\n%v", want, err)
		}
	}
}

// TestDispatchWithCustomID: the event starts the workflow with the input
// built from its data, tagged with the customId from its data, through
// the tag engine (so a second order event attaches); handling the same
// event again builds the very same envelopes.
func TestDispatchWithCustomID(t *testing.T) {
	m, err := triggers.Compile([]triggers.Trigger{{Type: "order.created", Action: "dispatch", Workflow: "OrderFlow", Method: "run",
		CustomID: "order-{$.id}", Tags: []string{"customer:{@subject}", "shop"},
		Input: map[string]any{"orderId": "$.id", "amount": "$.total"}}}, registry(t), "")
	if err != nil {
		t.Fatal(err)
	}
	e := cloudEvent(t, "order.created", "evt-1", `{"id":"12345678901234567890","total":42}`)
	envs, err := m.Map(e, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 || envs[0].Topic != core.Topic(core.PrefixWorkflowTag, "OrderFlow") {
		t.Fatalf("envelopes %+v, want one to the tag engine", envs)
	}
	msg, err := core.DecodeMessage(envs[0])
	if err != nil {
		t.Fatal(err)
	}
	d, ok := msg.(*core.DispatchWorkflowByCustomID)
	if !ok {
		t.Fatalf("message %T, want a dispatch by customId", msg)
	}
	if d.Tag != "customId:order-12345678901234567890" || d.Dispatch.Method != "run" ||
		strings.Join(d.Dispatch.Tags, ",") != "customId:order-12345678901234567890,customer:customer-7,shop" {
		t.Errorf("dispatch %+v", d)
	}
	var in order
	if err := json.Unmarshal(d.Dispatch.Input, &in); err != nil || in.OrderID != "12345678901234567890" || in.Amount != 42 {
		t.Errorf("input %s (%v), want the order id (all 20 digits) and the amount", d.Dispatch.Input, err)
	}
	again, err := m.Map(e, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != envs[0].ID || string(again[0].Data) != string(envs[0].Data) {
		t.Errorf("a duplicate of the event maps to envelope %s (%s), want %s (%s)", again[0].ID, again[0].Data, envs[0].ID, envs[0].Data)
	}
	other, err := m.Map(cloudEvent(t, "order.created", "evt-2", `{"id":"1","total":1}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if other[0].ID == envs[0].ID {
		t.Error("two events map to one envelope id")
	}
}

// TestSignalAndCancelTargets: a signal by customId goes to the tag engine
// as a by-tag command, with a signal id of the event's; a cancel by id
// goes straight to the instance.
func TestSignalAndCancelTargets(t *testing.T) {
	m, err := triggers.Compile([]triggers.Trigger{
		{Type: "payment.received", Action: "signal", Workflow: "OrderFlow", CustomID: "order-{$.orderId}", Channel: "payments", Input: "$.payment"},
		{Type: "order.cancelled", Source: "shop", Action: "cancel", Workflow: "OrderFlow", ID: "@subject"},
	}, registry(t), "")
	if err != nil {
		t.Fatal(err)
	}
	envs, err := m.Map(cloudEvent(t, "payment.received", "p-1", `{"orderId":"9","payment":{"eur":10}}`), now)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := core.DecodeMessage(envs[0])
	if err != nil {
		t.Fatal(err)
	}
	bt, ok := msg.(*core.WorkflowByTag)
	if !ok || bt.Tag != "customId:order-9" {
		t.Fatalf("signal by customId: %T %+v", msg, msg)
	}
	if envs, err = m.Map(cloudEvent(t, "order.cancelled", "c-1", `{}`), now); err != nil {
		t.Fatal(err)
	}
	if envs[0].Topic != core.Topic(core.PrefixWorkflowCmd, "OrderFlow") || envs[0].PartitionKey != "customer-7" {
		t.Errorf("cancel by id: topic %s key %s", envs[0].Topic, envs[0].PartitionKey)
	}
	// The cancel trigger names a source: the same type from elsewhere is unmapped.
	e := cloudEvent(t, "order.cancelled", "c-2", `{}`)
	e.SetSource("elsewhere")
	if _, err := m.Map(e, now); !errors.Is(err, triggers.ErrNoTrigger) {
		t.Errorf("cancel from another source: %v, want ErrNoTrigger", err)
	}
}

// TestEventsThatCannotBeMapped: an unknown type, a value missing from the
// data, an input that does not fit the method, data that is not JSON:
// each a MapError naming the event and the fault.
func TestEventsThatCannotBeMapped(t *testing.T) {
	m, err := triggers.Compile([]triggers.Trigger{
		{Type: "order.created", Action: "dispatch", Workflow: "OrderFlow", Method: "run", ID: "$.id"},
	}, registry(t), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e    event.Event
		want string
	}{
		{cloudEvent(t, "order.updated", "u-1", `{}`), `type "order.updated" from "shop": no trigger maps this CloudEvent type`},
		{cloudEvent(t, "order.created", "m-1", `{"total":1}`), `id: $.id selects nothing in the data`},
		{cloudEvent(t, "order.created", "b-1", `{"id":"7","colour":"red"}`), `input does not match`},
	} {
		_, err := m.Map(c.e, now)
		var me *triggers.MapError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.e.ID()) {
			t.Errorf("%s: %v, want a MapError naming the event and saying %q", c.e.ID(), err, c.want)
		}
	}
	text := event.New()
	text.SetID("t-1")
	text.SetSource("shop")
	text.SetType("order.created")
	_ = text.SetData("text/plain", []byte("hello"))
	if _, err := m.Map(text, now); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("text data: %v, want it refused as not JSON", err)
	}
}

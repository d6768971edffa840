package triggers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
)

// TestIngressOnATopic: CloudEvents published in structured JSON on a topic
// are mapped by a worker running the ingress: a good one becomes its
// dispatch, on the workflow's command topic; one of an unknown type and
// one that is no CloudEvent are dead-lettered with the reason.
func TestIngressOnATopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := triggers.Compile([]triggers.Trigger{{Type: "order.created", Action: "dispatch", Workflow: "OrderFlow", Method: "run",
		ID: "order-{$.id}", Input: map[string]any{"orderId": "$.id", "amount": "$.total"}}}, registry(t), "")
	if err != nil {
		t.Fatal(err)
	}
	const topic = "triggers:shop"
	in, err := triggers.NewIngress(topic, m)
	if err != nil {
		t.Fatal(err)
	}
	tr := memory.New()
	defer tr.Close()
	cmds, err := tr.Subscribe(ctx, core.Topic(core.PrefixWorkflowCmd, "OrderFlow"), transport.SubscribeOptions{Group: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dlq, err := tr.Subscribe(ctx, core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "test"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(tr, in, worker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.Run(ctx) }()
	<-w.Ready()

	good := `{"specversion":"1.0","id":"e-1","source":"shop","type":"order.created","time":"2026-12-07T10:00:00Z","data":{"id":"12345678901234567890","total":3}}`
	if err := tr.PublishRaw(ctx, topic, "", []byte(good)); err != nil {
		t.Fatal(err)
	}
	d, err := cmds.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := core.DecodeMessage(env)
	if err != nil {
		t.Fatal(err)
	}
	if dw, ok := msg.(*core.DispatchWorkflow); !ok || dw.WorkflowID != "order-12345678901234567890" || string(dw.Input) != `{"amount":3,"orderId":"12345678901234567890"}` {
		t.Errorf("command %T %+v", msg, msg)
	}
	_ = d.Ack(ctx)

	for _, c := range []struct{ body, reason string }{
		{`{"specversion":"1.0","id":"e-2","source":"shop","type":"order.deleted","data":{}}`, "no trigger maps"},
		{`{"hello":"world"}`, "CloudEvent without id"},
	} {
		if err := tr.PublishRaw(ctx, topic, "", []byte(c.body)); err != nil {
			t.Fatal(err)
		}
		d, err := dlq.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		entry, err := core.DecodeEnvelope(d.Body())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(entry.DeadLetterReason, c.reason) {
			t.Errorf("dead-letter entry of %s: reason %q, want %q", c.body, entry.DeadLetterReason, c.reason)
		}
		_ = d.Ack(ctx)
	}
}

// TestParseStructured: attributes, extensions, JSON and base64 data.
func TestParseStructured(t *testing.T) {
	e, err := triggers.ParseStructured([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","subject":"sub","tenant":"acme",
		"datacontenttype":"application/octet-stream","data_base64":"aGVsbG8="}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject() != "sub" || e.Extensions()["tenant"] != "acme" || string(e.Data()) != "hello" || e.DataMediaType() != "application/octet-stream" {
		t.Errorf("event %+v", e)
	}
	for _, bad := range []string{`[]`, `{"specversion":"0.3","id":"1","source":"s","type":"t"}`, `{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}`} {
		if _, err := triggers.ParseStructured([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

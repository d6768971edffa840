package functions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
)

// TestEventSinkPanicIsAFailedDelivery: the sink is user code; its panic
// is a failed delivery (retried, then dead-lettered with the panic as the
// reason), neither a crash nor an outage retried in place for ever.
func TestEventSinkPanicIsAFailedDelivery(t *testing.T) {
	l, err := functions.NewEventListener(functions.EventListenerConfig{Workflows: []string{"W"},
		Sink: func(context.Context, core.Envelope, *core.Event) error { panic("sink exploded") }})
	if err != nil {
		t.Fatal(err)
	}
	env, err := core.BuildEnvelope(core.EventOut(&core.Event{Kind: core.EventWorkflowCompleted, Workflow: "W", WorkflowID: "w1"}),
		"in-1", time.Unix(1, 0), "test", time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Handle(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "sink exploded") || !strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("Handle = %v, want the panic with its stack", err)
	}
	if functions.IsPermanent(err) || functions.IsUnavailable(err) {
		t.Fatalf("a sink panic must spend delivery attempts: permanent %v, unavailable %v", functions.IsPermanent(err), functions.IsUnavailable(err))
	}
}

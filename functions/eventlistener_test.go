package functions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
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

// TestALimitIsNoOutage: a storage or broker error saying a value or a
// message is too large is permanent: retrying it in place would never end.
func TestALimitIsNoOutage(t *testing.T) {
	for _, err := range []error{fmt.Errorf("put: %w", storage.ErrTooLarge), fmt.Errorf("publish: %w", transport.ErrMessageTooLarge)} {
		if got := functions.Unavailable(err); !functions.IsPermanent(got) || functions.IsUnavailable(got) {
			t.Errorf("Unavailable(%v) = %v: permanent %v, unavailable %v", err, got, functions.IsPermanent(got), functions.IsUnavailable(got))
		}
	}
	if got := functions.Unavailable(errors.New("connection refused")); !functions.IsUnavailable(got) || functions.IsPermanent(got) {
		t.Errorf("an outage is not unavailable: %v", got)
	}
}

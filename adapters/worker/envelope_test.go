package worker_test

import (
	"context"
	"testing"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// keptTransport hands out deliveries that carry their envelope decoded, the
// way the memory transport does, with a body that must then go unread.
type keptTransport struct{ *recTransport }

func (k keptTransport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	sub, err := k.recTransport.Subscribe(ctx, topic, opts)
	if err != nil {
		return nil, err
	}
	return keptSub{sub}, nil
}

type keptSub struct{ transport.Subscription }

func (s keptSub) Receive(ctx context.Context) (transport.Delivery, error) {
	d, err := s.Subscription.Receive(ctx)
	if err != nil {
		return nil, err
	}
	e, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		return nil, err
	}
	e.Subject = "kept" // tells the handler where its envelope came from
	return keptDelivery{Delivery: d, env: e}, nil
}

type keptDelivery struct {
	transport.Delivery
	env core.Envelope
}

func (d keptDelivery) Body() []byte { return []byte("not an envelope: the worker must not read it") }

func (d keptDelivery) DeliveredEnvelope() (core.Envelope, bool) { return d.env, true }

func TestDeliveredEnvelopeSkipsDecoding(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	out := subscribe(t, mem, "out:kept", "reader")
	fn := newFn("in:kept", true, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		reply := env("out:kept", "out-"+in.ID, "")
		reply.Subject = in.Subject
		return functions.Result{Outputs: []core.Envelope{reply}}, nil
	})
	start(t, keptTransport{tr}, fn, worker.Config{})
	publish(t, mem, env("in:kept", "m1", "k"))
	tr.rec.waitFor(t, "ack m1")
	if got := receive(t, out); got.ID != "out-m1" || got.Subject != "kept" {
		t.Fatalf("output %s with subject %q, want out-m1 with the delivered envelope's subject", got.ID, got.Subject)
	}
}

package transporttest

import (
	"context"
	"errors"
	"testing"

	"github.com/weftio/weft/transport"
)

// publishAcker returns d as a PublishAcker, or skips the test.
func (h *harness) publishAcker(d transport.Delivery) transport.PublishAcker {
	h.t.Helper()
	pa, ok := d.(transport.PublishAcker)
	if !ok {
		h.t.Skip("the driver's deliveries do not implement transport.PublishAcker")
	}
	return pa
}

// testPublishAck: publishing the outputs with the acknowledgement settles
// the input (on a keyed group its key's next message goes) and publishes
// the outputs; one that fails before anything is sent (an invalid
// envelope) leaves the input unsettled, to be settled as usual.
func testPublishAck(t *testing.T, h *harness) {
	in, out := h.topic(), h.topic()
	keyed := h.caps.KeyedOrder
	sub := h.subscribe(in, transport.SubscribeOptions{Group: "g", Keyed: keyed, Backoff: fastBackoff})
	outs := h.subscribe(out, transport.SubscribeOptions{Group: "g"})
	h.publish(h.env(in, "first", "k"), h.env(in, "second", "k"))

	d := h.receive(sub)
	pa := h.publishAcker(d)
	// Without per-key order either may come first.
	second := "second"
	switch id := h.decode(d).ID; {
	case id == "second" && !keyed:
		second = "first"
	case id != "first":
		t.Fatalf("got %s, want first", id)
	}
	bad := h.env(out, "bad", "")
	bad.Topic = ""
	if err := pa.PublishAck(context.Background(), h.env(out, "lost", ""), bad); err == nil {
		t.Fatal("PublishAck with an envelope without a topic succeeded")
	}
	h.expectNothing(outs)
	if err := pa.PublishAck(context.Background(), h.env(out, "result-1", ""), h.env(out, "result-2", "r")); err != nil {
		t.Fatalf("PublishAck: %v", err)
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Errorf("Ack after PublishAck should be a no-op: %v", err)
	}
	got := map[string]bool{}
	for range 2 {
		o := h.receive(outs)
		got[h.decode(o).ID] = true
		h.ack(o)
	}
	if !got["result-1"] || !got["result-2"] {
		t.Errorf("outputs received: %v, want result-1 and result-2", got)
	}
	d = h.receive(sub)
	if id := h.decode(d).ID; id != second || d.Attempt() != 1 {
		t.Fatalf("got %s attempt %d, want %s attempt 1 (the other settled by PublishAck)", id, d.Attempt(), second)
	}
	// A settlement that failed before sending leaves the delivery to be
	// settled as usual.
	if err := h.publishAcker(d).PublishAck(context.Background(), bad); err == nil {
		t.Fatal("PublishAck with an envelope without a topic succeeded")
	}
	if err := d.Nack(context.Background(), errors.New("again")); err != nil {
		t.Fatalf("Nack after a failed PublishAck: %v", err)
	}
	d = h.receive(sub)
	if id := h.decode(d).ID; id != second || d.Attempt() != 2 {
		t.Fatalf("got %s attempt %d, want %s attempt 2", id, d.Attempt(), second)
	}
	if err := h.publishAcker(d).PublishAck(context.Background()); err != nil {
		t.Fatalf("PublishAck without envelopes: %v", err)
	}
	h.expectNothing(sub)
	h.expectNothing(outs)
}

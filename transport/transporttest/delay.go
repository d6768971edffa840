package transporttest

import (
	"testing"
	"time"

	"github.com/weftio/weft/transport"
)

// Delay tests assert only loose bounds (not before quietPeriod, within
// waitTimeout) so a loaded machine cannot make them flake.
const delay = 300 * time.Millisecond

func testDelay(t *testing.T, h *harness) {
	h.requireDelay()
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	e := h.env(topic, "later", "")
	e.SetDeliverAt(time.Now().Add(delay))
	h.publish(e)

	h.expectNothing(sub)
	d := h.receive(sub)
	if id := h.decode(d).ID; id != "later" {
		t.Fatalf("got %s, want later", id)
	}
	h.ack(d)
}

func testDelayKeyed(t *testing.T, h *harness) {
	h.requireDelay()
	h.requireKeyedOrder()
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g", Keyed: true})
	start := time.Now()
	later := h.env(topic, "later", "k")
	later.SetDeliverAt(start.Add(delay))
	h.publish(later, h.env(topic, "now", "k"))

	// The delayed message must not hold back the key.
	d := h.receive(sub)
	if id := h.decode(d).ID; id != "now" {
		t.Fatalf("got %s first, want now (a delayed message must not block its key)", id)
	}
	h.ack(d)
	d = h.receive(sub)
	if id := h.decode(d).ID; id != "later" {
		t.Fatalf("got %s, want later", id)
	}
	if elapsed := time.Since(start); elapsed < quietPeriod {
		t.Errorf("delayed message arrived after %v, before its delay", elapsed)
	}
	h.ack(d)
}

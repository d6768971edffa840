package transporttest

import (
	"testing"
	"time"

	"github.com/weftio/weft/transport"
)

// Delay tests assert what load cannot break: a delayed message never
// arrives before its time (a slow machine only makes it later), and it does
// arrive, within waitTimeout.
const delay = 300 * time.Millisecond

// keyedDelay delays the message that must not hold back its key.
const keyedDelay = 8 * time.Second

// granularity is how far before its time a delayed message may be handed
// out: brokers keep delivery times in whole milliseconds.
const granularity = time.Millisecond

// notEarly fails if a message due at due was received before it.
func notEarly(t *testing.T, id string, due time.Time) {
	t.Helper()
	if early := time.Until(due); early > granularity {
		t.Errorf("delayed message %s arrived %v before its time", id, early)
	}
}

func testDelay(t *testing.T, h *harness) {
	h.requireDelay()
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	e := h.env(topic, "later", "")
	due := time.Now().Add(delay)
	e.SetDeliverAt(due)
	h.publish(e)

	d := h.receive(sub)
	notEarly(t, "later", due)
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
	// Long enough that a loaded machine does not hold the message sent
	// now past it (a run under the race detector beside the simulator
	// took over 3 s to deliver it on SQS).
	due := time.Now().Add(keyedDelay)
	later := h.env(topic, "later", "k")
	later.SetDeliverAt(due)
	h.publish(later, h.env(topic, "now", "k"))

	// The delayed message must not hold back the key.
	d := h.receive(sub)
	if id := h.decode(d).ID; id != "now" {
		t.Fatalf("got %s first, want now (a delayed message must not block its key)", id)
	}
	h.ack(d)
	d = h.receive(sub)
	notEarly(t, "later", due)
	if id := h.decode(d).ID; id != "later" {
		t.Fatalf("got %s, want later", id)
	}
	h.ack(d)
}

package transporttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

func testTwoGroups(t *testing.T, h *harness) {
	topic := h.topic()
	g1 := h.subscribe(topic, transport.SubscribeOptions{Group: "g1"})
	g2 := h.subscribe(topic, transport.SubscribeOptions{Group: "g2"})
	const n = 10
	var batch []core.Envelope
	for i := range n {
		batch = append(batch, h.env(topic, fmt.Sprintf("fan-%d", i), ""))
	}
	h.publish(batch...)
	for _, sub := range []transport.Subscription{g1, g2} {
		seen := map[string]bool{}
		for range n {
			d := h.receive(sub)
			id := h.decode(d).ID
			if seen[id] {
				t.Fatalf("duplicate delivery %s", id)
			}
			seen[id] = true
			h.ack(d)
		}
		h.expectNothing(sub)
	}
}

func testSharedGroup(t *testing.T, h *harness) {
	topic := h.topic()
	members := []transport.Subscription{
		h.subscribe(topic, transport.SubscribeOptions{Group: "shared"}),
		h.subscribe(topic, transport.SubscribeOptions{Group: "shared"}),
	}
	const n = 100
	var batch []core.Envelope
	for i := range n {
		batch = append(batch, h.env(topic, fmt.Sprintf("shared-%d", i), ""))
	}
	h.publish(batch...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		seen = map[string]int{} // id -> member
		wg   sync.WaitGroup
	)
	for i, sub := range members {
		wg.Go(func() {
			for {
				d, err := sub.Receive(ctx)
				if err != nil {
					return // ctx ends once every message is in
				}
				env, derr := core.DecodeEnvelope(d.Body())
				if derr != nil {
					t.Errorf("decode: %v", derr)
					return
				}
				mu.Lock()
				if prev, dup := seen[env.ID]; dup {
					t.Errorf("%s delivered to member %d and again to member %d", env.ID, prev, i)
				}
				seen[env.ID] = i
				done := len(seen) == n
				mu.Unlock()
				if err := d.Ack(context.Background()); err != nil {
					t.Errorf("Ack: %v", err)
				}
				if done {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("received %d distinct messages, want %d", len(seen), n)
	}
	for _, sub := range members {
		h.expectNothing(sub)
	}
}

func testMemberCloseRedelivers(t *testing.T, h *harness) {
	topic := h.topic()
	a, err := h.tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	b := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	h.publish(h.env(topic, "orphan", ""))

	d := h.receive(a)
	if id := h.decode(d).ID; id != "orphan" {
		t.Fatalf("got %s, want orphan", id)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close member: %v", err)
	}
	start := time.Now()
	d2 := h.receive(b)
	if id := h.decode(d2).ID; id != "orphan" {
		t.Fatalf("other member got %s, want orphan", id)
	}
	h.ack(d2)
	t.Logf("redelivered to the other member after %v", time.Since(start))
}

// testHasSubscription: a topic nobody subscribed to has no subscription; one
// a group joined has one, and keeps it when the group's last member leaves,
// since what is published meanwhile waits for the group.
func testHasSubscription(t *testing.T, h *harness) {
	sc, ok := h.tr.(transport.SubscriptionChecker)
	if !ok {
		t.Skip("driver does not implement transport.SubscriptionChecker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	has := func(topic string) bool {
		t.Helper()
		ok, err := sc.HasSubscription(ctx, topic)
		if err != nil {
			t.Fatalf("HasSubscription(%s): %v", topic, err)
		}
		return ok
	}
	topic, other := h.topic(), h.topic()
	if has(topic) {
		t.Fatalf("%s has a subscription before anyone subscribed", topic)
	}
	h.publish(h.env(topic, "before", "")) // a topic with messages and no group
	if has(topic) {
		t.Fatalf("%s has a subscription after a publish, before anyone subscribed", topic)
	}
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	if !has(topic) {
		t.Fatalf("%s has no subscription while group g is subscribed", topic)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if !has(topic) {
		t.Fatalf("%s lost its subscription when the group's member left", topic)
	}
	if has(other) {
		t.Fatalf("%s has a subscription: another topic's group counted", other)
	}
	if err := h.tr.Close(); err != nil && !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("close transport: %v", err)
	}
	if _, err := sc.HasSubscription(ctx, topic); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("HasSubscription on a closed transport: %v, want transport.ErrClosed", err)
	}
}

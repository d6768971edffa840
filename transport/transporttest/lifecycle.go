package transporttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftio/weft/transport"
)

func testTransportClose(t *testing.T, h *harness) {
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	errc := make(chan error, 1)
	go func() {
		_, err := sub.Receive(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Receive block; correctness does not depend on it
	if err := h.tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("blocked Receive returned %v, want ErrClosed", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("blocked Receive did not return after Close")
	}
	if _, err := sub.Receive(context.Background()); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Receive after Close returned %v, want ErrClosed", err)
	}
	if err := h.tr.Publish(context.Background(), h.env(topic, "too-late", "")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Publish after Close returned %v, want ErrClosed", err)
	}
	if _, err := h.tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: "g2"}); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
}

func testReceiveContext(t *testing.T, h *harness) {
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sub.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Receive with a cancelled ctx returned %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	if _, err := sub.Receive(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Receive cancelled while blocked returned %v, want context.Canceled", err)
	}

	// A Receive that gave up must not swallow the next message.
	h.publish(h.env(topic, "after-cancel", ""))
	d := h.receive(sub)
	if id := h.decode(d).ID; id != "after-cancel" {
		t.Fatalf("got %s, want after-cancel", id)
	}
	h.ack(d)
}

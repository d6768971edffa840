package transporttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

func testNackRedelivers(t *testing.T, h *harness) {
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g", Backoff: fastBackoff})
	h.publish(h.env(topic, "retry-me", ""))

	d := h.receive(sub)
	if err := d.Nack(context.Background(), errors.New("transient")); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	if err := d.Nack(context.Background(), errors.New("again")); err != nil {
		t.Errorf("second Nack should be a no-op: %v", err)
	}
	d = h.receive(sub)
	if id := h.decode(d).ID; id != "retry-me" || d.Attempt() != 2 {
		t.Fatalf("got %s attempt %d, want retry-me attempt 2", id, d.Attempt())
	}
	h.ack(d)
	h.expectNothing(sub)
}

func testNackToDeadLetter(t *testing.T, h *harness) {
	h.requireDeadLetter()
	const maxAttempts = 3
	topic := h.topic()
	dlq := h.subscribe(core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "dlq-reader"})
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g", MaxAttempts: maxAttempts, Backoff: fastBackoff})
	orig := h.env(topic, "doomed", "k")
	h.publish(orig)

	for attempt := 1; attempt <= maxAttempts; attempt++ {
		d := h.receive(sub)
		if d.Attempt() != attempt {
			t.Fatalf("Attempt() = %d, want %d", d.Attempt(), attempt)
		}
		if err := d.Nack(context.Background(), fmt.Errorf("boom %d", attempt)); err != nil {
			t.Fatalf("Nack: %v", err)
		}
	}
	entry := h.decode(h.receive(dlq))
	if entry.ID != orig.ID || !bytes.Equal(entry.Data, orig.Data) || entry.Type != orig.Type {
		t.Errorf("dead-letter entry %+v does not keep the original envelope %+v", entry, orig)
	}
	if entry.Topic != core.DeadLetterTopic(topic) {
		t.Errorf("entry topic = %q, want %q", entry.Topic, core.DeadLetterTopic(topic))
	}
	if !strings.Contains(entry.DeadLetterReason, fmt.Sprintf("boom %d", maxAttempts)) {
		t.Errorf("weftdlqreason = %q, want the last cause %q", entry.DeadLetterReason, fmt.Sprintf("boom %d", maxAttempts))
	}
	if entry.DeadLetterAttempts != maxAttempts {
		t.Errorf("weftdlqattempts = %d, want %d", entry.DeadLetterAttempts, maxAttempts)
	}
	h.expectNothing(sub)
}

func testDeadLetterImmediate(t *testing.T, h *harness) {
	h.requireDeadLetter()
	topic := h.topic()
	dlq := h.subscribe(core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "dlq-reader"})
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	h.publish(h.env(topic, "poison", ""))

	d := h.receive(sub)
	if err := d.DeadLetter(context.Background(), "bad input"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Errorf("Ack after DeadLetter should be a no-op: %v", err)
	}
	entry := h.decode(h.receive(dlq))
	if entry.ID != "poison" || entry.DeadLetterReason != "bad input" || entry.DeadLetterAttempts != 1 {
		t.Errorf("entry id %q reason %q attempts %d, want poison, %q, 1", entry.ID, entry.DeadLetterReason, entry.DeadLetterAttempts, "bad input")
	}
	h.expectNothing(sub)
}

func testUndecodableDeadLetter(t *testing.T, h *harness) {
	h.requireDeadLetter()
	topic := h.topic()
	dlq := h.subscribe(core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "dlq-reader"})
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	raw := []byte("{not json \x00\xff")
	if err := h.tr.PublishRaw(context.Background(), topic, "raw-key", raw); err != nil {
		t.Fatalf("PublishRaw: %v", err)
	}

	d := h.receive(sub)
	if !bytes.Equal(d.Body(), raw) || d.Key() != "raw-key" {
		t.Fatalf("got body %q key %q, want %q key raw-key", d.Body(), d.Key(), raw)
	}
	if err := d.DeadLetter(context.Background(), "undecodable"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	entry := h.decode(h.receive(dlq))
	if entry.Type != transport.DeadLetterType {
		t.Errorf("entry type = %q, want %q", entry.Type, transport.DeadLetterType)
	}
	if entry.DeadLetterReason != "undecodable" {
		t.Errorf("weftdlqreason = %q, want undecodable", entry.DeadLetterReason)
	}
	var data struct {
		Body []byte `json:"body"`
	}
	if err := json.Unmarshal(entry.Data, &data); err != nil {
		t.Fatalf("entry data %s: %v", entry.Data, err)
	}
	if !bytes.Equal(data.Body, raw) {
		t.Errorf("entry keeps body %q, want %q", data.Body, raw)
	}
}

package transporttest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

func testRoundTrip(t *testing.T, h *harness) {
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	want := core.Envelope{
		ID:              "round-trip-1",
		Source:          "weft/transporttest",
		SpecVersion:     core.SpecVersion,
		Type:            "weft.test.RoundTrip",
		Subject:         "subject-1",
		Time:            time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC),
		DataContentType: core.ContentTypeJSON,
		Data:            []byte(`{"n":1,"s":"x","nested":{"a":[1,2]}}`),
		PartitionKey:    "key-1",
		Topic:           topic,
		TraceParent:     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	// A DeliverAt in the past means "now"; it must still be carried.
	want.SetDeliverAt(time.Now().Add(-time.Hour))
	h.publish(want)

	d := h.receive(sub)
	if d.Topic() != topic {
		t.Errorf("Topic() = %q, want %q", d.Topic(), topic)
	}
	if d.Key() != want.PartitionKey {
		t.Errorf("Key() = %q, want %q", d.Key(), want.PartitionKey)
	}
	if d.Attempt() != 1 {
		t.Errorf("Attempt() = %d, want 1", d.Attempt())
	}
	got := h.decode(d)
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("Data = %s, want %s", got.Data, want.Data)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	got.Data, want.Data = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded envelope differs:\n got  %+v\n want %+v", got, want)
	}
	h.ack(d)
	// Settling twice is a no-op.
	if err := d.Ack(context.Background()); err != nil {
		t.Errorf("second Ack: %v", err)
	}
	if err := d.Nack(context.Background(), fmt.Errorf("late")); err != nil {
		t.Errorf("Nack after Ack: %v", err)
	}
	h.expectNothing(sub)
}

func testBatchPublish(t *testing.T, h *harness) {
	topicA, topicB := h.topic(), h.topic()
	subA := h.subscribe(topicA, transport.SubscribeOptions{Group: "g"})
	subB := h.subscribe(topicB, transport.SubscribeOptions{Group: "g"})
	var batch []core.Envelope
	want := map[string]string{}
	for i := range 10 {
		topic := topicA
		if i%2 == 1 {
			topic = topicB
		}
		id := fmt.Sprintf("batch-%d", i)
		batch = append(batch, h.env(topic, id, ""))
		want[id] = topic
	}
	h.publish(batch...)
	for _, sub := range []transport.Subscription{subA, subB} {
		for range 5 {
			d := h.receive(sub)
			env := h.decode(d)
			topic, ok := want[env.ID]
			if !ok {
				t.Fatalf("unexpected or duplicate delivery %s", env.ID)
			}
			delete(want, env.ID)
			if d.Topic() != topic || env.Topic != topic {
				t.Errorf("%s arrived on %q (envelope topic %q), want %q", env.ID, d.Topic(), env.Topic, topic)
			}
			h.ack(d)
		}
		h.expectNothing(sub)
	}
}

func testRetainedBeforeSubscribe(t *testing.T, h *harness) {
	topic := h.topic()
	want := map[string]bool{}
	for i := range 3 {
		id := fmt.Sprintf("early-%d", i)
		h.publish(h.env(topic, id, ""))
		want[id] = true
	}
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "late"})
	for range 3 {
		d := h.receive(sub)
		id := h.decode(d).ID
		if !want[id] {
			t.Fatalf("unexpected or duplicate delivery %s", id)
		}
		delete(want, id)
		h.ack(d)
	}
}

func testInvalidEnvelope(t *testing.T, h *harness) {
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	bad := h.env(topic, "", "")
	err := h.tr.Publish(context.Background(), bad)
	if err == nil {
		t.Fatal("Publish of an envelope without id succeeded")
	}
	if !strings.Contains(err.Error(), "id") {
		t.Errorf("error %q does not name the missing id", err)
	}
	h.expectNothing(sub)
}

func testOversized(t *testing.T, h *harness) {
	limit := h.caps.MaxMessageSize
	if limit <= 0 {
		t.Skip("driver declares no Capabilities.MaxMessageSize")
	}
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g"})
	big := h.env(topic, "too-big", "")
	big.Data = []byte(`"` + strings.Repeat("x", limit) + `"`)
	if err := h.tr.Publish(context.Background(), big); err == nil {
		t.Fatalf("Publish of an envelope over the %d byte limit succeeded", limit)
	}
	h.expectNothing(sub)
}

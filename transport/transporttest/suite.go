package transporttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// waitTimeout bounds every wait for a delivery that should come. It only
// guards against a hang, so it is long: a loaded machine under the race
// detector must not fail a wait that would have succeeded (a delivery that
// comes returns at once); tests that expect nothing wait far less
// (quietPeriod).
const (
	waitTimeout = 30 * time.Second
	quietPeriod = 100 * time.Millisecond
)

// Run runs the conformance suite. newTransport is called once per subtest;
// the suite closes each transport it gets when the subtest ends, so the
// driver's Close must tolerate being called again.
func Run(t *testing.T, newTransport func(t *testing.T) transport.Transport) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"BatchPublish", testBatchPublish},
		{"TwoGroups", testTwoGroups},
		{"HasSubscription", testHasSubscription},
		{"SharedGroup", testSharedGroup},
		{"RetainedBeforeSubscribe", testRetainedBeforeSubscribe},
		{"KeyedOrder", testKeyedOrder},
		{"KeyedNackKeepsOrder", testKeyedNackKeepsOrder},
		{"NackRedelivers", testNackRedelivers},
		{"NackToDeadLetter", testNackToDeadLetter},
		{"DeadLetterImmediate", testDeadLetterImmediate},
		{"UndecodableDeadLetter", testUndecodableDeadLetter},
		{"Delay", testDelay},
		{"DelayKeyed", testDelayKeyed},
		{"MemberCloseRedelivers", testMemberCloseRedelivers},
		{"TransportClose", testTransportClose},
		{"ReceiveContext", testReceiveContext},
		{"Oversized", testOversized},
		{"InvalidEnvelope", testInvalidEnvelope},
		{"GroupExclusive", testGroupExclusive},
		{"KeyedManyConsumers", testKeyedManyConsumers},
		{"DelayNotEarly", testDelayNotEarly},
		{"NackBackoffRespected", testNackBackoffRespected},
		{"DurableRestart", testDurableRestart},
		{"DurableUnackedRedelivered", testDurableUnackedRedelivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTransport(t)
			t.Cleanup(func() {
				if err := tr.Close(); err != nil && !errors.Is(err, transport.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, &harness{t: t, tr: tr, caps: tr.Capabilities(), reopen: func() transport.Transport {
				t.Helper()
				again := newTransport(t)
				t.Cleanup(func() { _ = again.Close() })
				return again
			}})
		})
	}
}

// harness is the per-subtest context: the transport under test and helpers
// bound to the subtest's *testing.T.
type harness struct {
	t    *testing.T
	tr   transport.Transport
	caps transport.Capabilities
	// reopen returns another transport on the same backend (for durable
	// drivers, one that sees what the first one published).
	reopen func() transport.Transport
}

var topicSeq atomic.Uint64

// topic returns a topic name no other subtest (or run) uses, of the form
// "<prefix>:<entity>" so DeadLetterTopic gives a distinct name.
func (h *harness) topic() string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, h.t.Name())
	return fmt.Sprintf("weftconf:%s-%d-%d", name, time.Now().UnixNano(), topicSeq.Add(1))
}

// env builds a valid envelope.
func (h *harness) env(topic, id, key string) core.Envelope {
	return core.Envelope{
		ID:              id,
		Source:          "weft/transporttest",
		SpecVersion:     core.SpecVersion,
		Type:            "weft.test.Message",
		Time:            time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC),
		DataContentType: core.ContentTypeJSON,
		Data:            []byte(fmt.Sprintf(`{"id":%q}`, id)),
		PartitionKey:    key,
		Topic:           topic,
	}
}

func (h *harness) publish(envs ...core.Envelope) {
	h.t.Helper()
	if err := h.tr.Publish(context.Background(), envs...); err != nil {
		h.t.Fatalf("Publish: %v", err)
	}
}

// subscribe joins group on topic and closes the subscription at cleanup.
func (h *harness) subscribe(topic string, opts transport.SubscribeOptions) transport.Subscription {
	h.t.Helper()
	return h.subscribeOn(h.tr, topic, opts)
}

// subscribeOn is subscribe on another transport of the same backend.
func (h *harness) subscribeOn(tr transport.Transport, topic string, opts transport.SubscribeOptions) transport.Subscription {
	h.t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		h.t.Fatalf("Subscribe(%q, group %q): %v", topic, opts.Group, err)
	}
	h.t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// receive waits up to waitTimeout for a delivery.
func (h *harness) receive(sub transport.Subscription) transport.Delivery {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		h.t.Fatalf("Receive: %v", err)
	}
	return d
}

// expectNothing fails if sub delivers anything within quietPeriod.
func (h *harness) expectNothing(sub transport.Subscription) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), quietPeriod)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err == nil {
		h.t.Fatalf("unexpected delivery %s (attempt %d)", describe(d), d.Attempt())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		h.t.Fatalf("Receive: got %v, want context.DeadlineExceeded", err)
	}
}

// decode parses a delivery's body as an envelope.
func (h *harness) decode(d transport.Delivery) core.Envelope {
	h.t.Helper()
	env, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		h.t.Fatalf("decode delivery body %q: %v", d.Body(), err)
	}
	return env
}

func (h *harness) ack(d transport.Delivery) {
	h.t.Helper()
	if err := d.Ack(context.Background()); err != nil {
		h.t.Fatalf("Ack: %v", err)
	}
}

// describe names a delivery in failure messages.
func describe(d transport.Delivery) string {
	if env, err := core.DecodeEnvelope(d.Body()); err == nil {
		return fmt.Sprintf("%s (key %q)", env.ID, d.Key())
	}
	return fmt.Sprintf("raw %q (key %q)", d.Body(), d.Key())
}

func (h *harness) requireKeyedOrder() {
	if !h.caps.KeyedOrder {
		h.t.Skip("driver does not declare Capabilities.KeyedOrder")
	}
}

func (h *harness) requireDeadLetter() {
	if !h.caps.DeadLetter {
		h.t.Skip("driver does not declare Capabilities.DeadLetter")
	}
}

func (h *harness) requireDurable() {
	if !h.caps.Durable {
		h.t.Skip("driver does not declare Capabilities.Durable")
	}
}

func (h *harness) requireDelay() {
	if !h.caps.Delay {
		h.t.Skip("driver does not declare Capabilities.Delay")
	}
}

// fastBackoff keeps redelivery tests quick.
func fastBackoff(int) time.Duration { return 5 * time.Millisecond }

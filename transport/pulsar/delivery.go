package pulsar

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
)

// delivery is one hand-out of a message to the member's user.
type delivery struct {
	s       *subscription
	m       *message
	attempt int
	settled bool // guarded by s.mu
}

var _ transport.Delivery = (*delivery)(nil)

func (d *delivery) Body() []byte  { return d.m.msg.Payload() }
func (d *delivery) Key() string   { return d.m.key }
func (d *delivery) Topic() string { return d.s.topic }
func (d *delivery) Attempt() int  { return d.attempt }

// errAlreadySettled makes a second settle call a no-op.
var errAlreadySettled = errors.New("already settled")

// claim marks d settled, or says why it cannot be.
func (d *delivery) claim() error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case d.settled:
		return errAlreadySettled
	case s.closed:
		// The member closed first: the message went back to the broker and
		// another member will get it.
		return s.closedErr()
	}
	d.settled = true
	return nil
}

func noop(err error) error {
	if err == errAlreadySettled {
		return nil
	}
	return err
}

// Ack acknowledges the message and lets the next one of its key go. Unless
// Config.AckWithResponse, the ack is sent within 10 ms together with
// others, so ctx is not consulted.
func (d *delivery) Ack(context.Context) error {
	if err := d.claim(); err != nil {
		return noop(err)
	}
	err := d.s.consumer.Ack(d.m.msg)
	d.s.finish(d.m)
	if err != nil {
		return d.s.settleError("acknowledge", err)
	}
	return nil
}

// Nack redelivers the message after the subscription's backoff, keeping its
// key blocked, or dead-letters it once it has had MaxAttempts deliveries.
func (d *delivery) Nack(ctx context.Context, cause error) error {
	if err := d.claim(); err != nil {
		return noop(err)
	}
	if d.attempt >= d.s.maxAttempts {
		reason := "nacked without a cause"
		if cause != nil {
			reason = cause.Error()
		}
		return d.deadLetter(ctx, reason)
	}
	d.s.retry(d.m, d.s.backoff(d.attempt))
	return nil
}

// DeadLetter writes the dead-letter entry now, then acknowledges.
func (d *delivery) DeadLetter(ctx context.Context, reason string) error {
	if err := d.claim(); err != nil {
		return noop(err)
	}
	return d.deadLetter(ctx, reason)
}

// deadLetter publishes the entry built by transport.DeadLetter (Pulsar's
// own dead-letter policy cannot record a reason) and acknowledges the
// message only once the broker has the entry. If the entry cannot be
// written the message is not lost: it comes back after the backoff, its key
// still blocked, and the caller gets the error.
func (d *delivery) deadLetter(ctx context.Context, reason string) error {
	s := d.s
	dlq, entry := transport.DeadLetter(s.topic, d.m.key, d.m.msg.Payload(), reason, d.attempt, time.Now())
	out := outgoing{topic: dlq, what: "dead-letter entry", msg: &pulsar.ProducerMessage{Payload: entry, Key: d.m.key}, via: s.t.unbatched}
	err := s.t.keepDeadLetters(dlq)
	if err == nil {
		err = s.t.send(ctx, []outgoing{out})
	}
	if err != nil {
		s.retry(d.m, s.backoff(d.attempt))
		return fmt.Errorf("pulsar: dead-letter a message of %s (group %s), to be redelivered: %w", s.topic, s.group, err)
	}
	s.t.log.Info("message dead-lettered",
		"topic", s.topic, "group", s.group, "dlq", dlq, "attempts", d.attempt, "reason", reason)
	err = s.consumer.Ack(d.m.msg)
	s.finish(d.m)
	if err != nil {
		return s.settleError("acknowledge the dead-lettered message", err)
	}
	return nil
}

// DeadLetterSubscription is the durable subscription every dead-letter
// topic gets before its first entry is written. Pulsar keeps a message
// while a subscription has not acknowledged it, whatever the namespace's
// retention, so an entry waits there until somebody reads it (consume
// that subscription to handle them, or remove it to let them go).
const DeadLetterSubscription = "weft-dead-letters"

// keepDeadLetters makes sure dlq has DeadLetterSubscription, once per
// topic and transport: subscribing creates it, at the topic's start, and
// it stays when the consumer closes.
func (t *Transport) keepDeadLetters(dlq string) error {
	if _, ok := t.kept.Load(dlq); ok {
		return nil
	}
	c, err := t.client.Subscribe(pulsar.ConsumerOptions{
		Topic: t.TopicName(dlq), SubscriptionName: DeadLetterSubscription, Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		return fmt.Errorf("pulsar: subscribe %s to %s so its entries are kept: %w", DeadLetterSubscription, dlq, err)
	}
	c.Close()
	t.kept.Store(dlq, struct{}{})
	return nil
}

// settleError reports a failed ack: ErrClosed if the member closed
// meanwhile (the broker redelivers the message), else the client's error.
func (s *subscription) settleError(what string, err error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return transport.ErrClosed
	}
	return fmt.Errorf("pulsar: %s a message of %s (group %s): %w", what, s.topic, s.group, err)
}

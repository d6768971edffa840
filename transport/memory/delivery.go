package memory

import (
	"context"
	"errors"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

type deliveryState uint8

const (
	pending  deliveryState = iota
	settled                // acked, nacked or dead-lettered
	released               // its subscription closed first; the message went back to the group
)

// delivery is one delivery of a message to one member. Its state is guarded
// by the group mutex; a message has at most one pending delivery at a time.
type delivery struct {
	g          *group
	m          *message
	sub        *subscription
	attempt    int
	state      deliveryState
	prev, next *delivery // in sub.inflight
}

var _ transport.Delivery = (*delivery)(nil)

func (d *delivery) Body() []byte  { return d.m.p.Body() }
func (d *delivery) Key() string   { return d.m.key }
func (d *delivery) Topic() string { return d.g.topic }
func (d *delivery) Attempt() int  { return d.attempt }

// DeliveredEnvelope returns the envelope of the delivery without decoding
// Body, when the transport kept it (see the package doc); ok is false when
// the caller must decode Body itself. The envelope is exactly what
// core.DecodeEnvelope(Body()) returns; its Data must not be modified.
func (d *delivery) DeliveredEnvelope() (env core.Envelope, ok bool) {
	return d.m.p.env, d.m.p.hasEnv
}

// errAlreadySettled makes a second settle call a no-op.
var errAlreadySettled = errors.New("already settled")

// claim marks d settled; the caller holds g.mu.
func (d *delivery) claim() error {
	switch {
	case d.state == settled:
		return errAlreadySettled
	case d.state == released, d.g.tr.closed.Load():
		return transport.ErrClosed
	}
	d.state = settled
	d.sub.inflight.remove(d)
	return nil
}

func noop(err error) error {
	if err == errAlreadySettled {
		return nil
	}
	return err
}

// Ack never blocks, so ctx is not consulted.
func (d *delivery) Ack(context.Context) error {
	g := d.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := d.claim(); err != nil {
		return noop(err)
	}
	g.finish(d.m)
	return nil
}

// Nack schedules a redelivery after the subscription's backoff, or
// dead-letters the message once it has had MaxAttempts deliveries.
func (d *delivery) Nack(_ context.Context, cause error) error {
	g := d.g
	g.mu.Lock()
	if err := d.claim(); err != nil {
		g.mu.Unlock()
		return noop(err)
	}
	if d.attempt >= d.sub.maxAttempts {
		g.finish(d.m)
		g.mu.Unlock()
		reason := "nacked without a cause"
		if cause != nil {
			reason = cause.Error()
		}
		return g.tr.deadLetter(g, d.m, reason, d.attempt)
	}
	now := g.tr.clock.Now()
	g.retry(d.m, now.Add(d.sub.backoff(d.attempt)), now)
	g.mu.Unlock()
	return nil
}

// DeadLetter moves the message to the dead-letter topic now.
func (d *delivery) DeadLetter(_ context.Context, reason string) error {
	g := d.g
	g.mu.Lock()
	if err := d.claim(); err != nil {
		g.mu.Unlock()
		return noop(err)
	}
	g.finish(d.m)
	g.mu.Unlock()
	return g.tr.deadLetter(g, d.m, reason, d.attempt)
}

// deliveryList is an intrusive list of a member's pending deliveries, so
// settling one is O(1) and Close can hand them all back.
type deliveryList struct {
	head, tail *delivery
}

func (l *deliveryList) push(d *delivery) {
	d.prev, d.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = d
	} else {
		l.head = d
	}
	l.tail = d
}

func (l *deliveryList) remove(d *delivery) {
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		l.head = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	} else {
		l.tail = d.prev
	}
	d.prev, d.next = nil, nil
}

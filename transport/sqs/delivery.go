package sqs

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/transport"
)

// delivery is one received message. Its settlement happens once; later
// calls are no-ops.
type delivery struct {
	s       *subscription
	msgID   string
	receipt string
	group   string // MessageGroupId, on FIFO queues
	topic   string
	key     string
	body    []byte
	attempt int

	// Under s.mu.
	visibleUntil time.Time
	readySince   time.Time // when it joined the ready list
	lost         bool      // the heartbeat found the receipt handle stale

	settled atomic.Bool
}

func (d *delivery) Body() []byte  { return d.body }
func (d *delivery) Key() string   { return d.key }
func (d *delivery) Topic() string { return d.topic }

// Attempt is SQS's ApproximateReceiveCount, less the receives of it this
// subscription gave back unseen.
func (d *delivery) Attempt() int { return d.attempt }

// Ack deletes the message.
func (d *delivery) Ack(ctx context.Context) error {
	if !d.settled.CompareAndSwap(false, true) {
		return nil
	}
	if err := d.s.unhold(d); err != nil {
		d.s.next(d, false)
		return err
	}
	err := d.delete(ctx)
	d.s.next(d, err == nil)
	return err
}

// Nack makes the message visible again after the backoff, or dead-letters
// it on its MaxAttempts-th delivery. SQS counts visibility timeouts in
// whole seconds: a backoff with a fraction sets the next second up, and a
// timer makes the message visible at the backoff itself (if the process
// dies first, it shows up at the whole second: later, never earlier).
func (d *delivery) Nack(ctx context.Context, cause error) error {
	if !d.settled.CompareAndSwap(false, true) {
		return nil
	}
	reason := "nacked"
	if cause != nil {
		reason = cause.Error()
	}
	if d.attempt >= d.s.opts.MaxAttempts {
		return d.deadLetter(ctx, reason, d.attempt)
	}
	start := time.Now()
	if err := d.s.unhold(d); err != nil {
		d.s.next(d, false)
		return err
	}
	backoff := min(max(d.s.opts.Backoff(d.attempt), 0), maxVisibility)
	secs := ceilSeconds(backoff)
	err := d.s.t.changeVisibility(ctx, d.s.q, d.receipt, secs)
	d.s.next(d, false)
	if err != nil {
		return d.settleError("nack", err)
	}
	if exact := time.Duration(secs) * time.Second; backoff < exact {
		d.s.releaseAt(d, start.Add(backoff))
	}
	return nil
}

// DeadLetter publishes the message's dead-letter entry, then deletes it.
func (d *delivery) DeadLetter(ctx context.Context, reason string) error {
	if !d.settled.CompareAndSwap(false, true) {
		return nil
	}
	return d.deadLetter(ctx, reason, d.attempt)
}

func (d *delivery) deadLetter(ctx context.Context, reason string, attempts int) error {
	if err := d.s.unhold(d); err != nil {
		d.s.next(d, false)
		return err
	}
	if err := d.s.t.deadLetter(ctx, d.topic, d.key, d.body, reason, attempts); err != nil {
		// It comes back after its visibility timeout.
		d.s.next(d, false)
		return err
	}
	err := d.delete(ctx)
	d.s.next(d, err == nil)
	return err
}

func (d *delivery) delete(ctx context.Context) error {
	if err := d.s.t.deleteMessage(ctx, d.s.q, d.receipt); err != nil {
		return d.settleError("delete", err)
	}
	return nil
}

// settleError wraps transport.ErrRedelivered into the error of a call
// refused for a stale receipt handle.
func (d *delivery) settleError(op string, err error) error {
	if isStale(err) {
		return fmt.Errorf("sqs: %s message %s: %w: %w", op, d.msgID, transport.ErrRedelivered, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqs: %s message %s: %w", op, d.msgID, err)
	}
	return err
}

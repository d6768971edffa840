package sqs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/weftio/weft/core"
)

const (
	// maxDelay is the longest delay SQS gives one message (DelaySeconds
	// 900), on standard queues only.
	maxDelay = 15 * time.Minute
	// nearDue: a delay-queue message due within this is held until its
	// instant and forwarded, rather than delayed again (SQS delays in whole
	// seconds).
	nearDue = time.Second
)

// route decides how a message due at due reaches a queue: not delayed
// (due is zero or past); delayed by SQS (a standard queue, due within 15
// minutes: DelaySeconds, rounded up so never early); or through the delay
// queue (a FIFO queue, which cannot delay one message, or due later), for
// at most 15 minutes at a time.
func route(now, due time.Time, fifo bool) (viaDelayQueue bool, delaySeconds int32) {
	if due.IsZero() || !due.After(now) {
		return false, 0
	}
	wait := due.Sub(now)
	if !fifo && wait <= maxDelay {
		return false, ceilSeconds(wait)
	}
	return true, ceilSeconds(min(wait, maxDelay))
}

// forward handles one delay-queue message: due, it is published to its
// topic (FIFO queues deduplicate it by envelope id, should a forward be
// repeated after a crash); nearly due, it is held until due and then
// published; else it goes back to the delay queue for what remains. It
// never deletes the message: the caller does, once forward succeeded.
func (t *Transport) forward(ctx context.Context, in Incoming) error {
	m, err := t.decode(in)
	if err != nil {
		return err
	}
	if m.Topic == "" {
		return fmt.Errorf("sqs: delay-queue message %s has no %s attribute", in.MessageID, AttrTopic)
	}
	var due time.Time
	if s := in.MessageAttributes[AttrDue]; s != "" {
		if due, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("sqs: delay-queue message %s: %s %q is not RFC 3339", in.MessageID, AttrDue, s)
		}
	}
	envID := ""
	if env, err := core.DecodeEnvelope(m.Body); err == nil {
		envID = env.ID
	}
	if wait := due.Sub(t.now()); wait > nearDue {
		o, err := newOutgoing(m.Topic, m.Key, m.Body, envID, due)
		if err != nil {
			return err
		}
		o.delay = ceilSeconds(min(wait, maxDelay))
		return t.send(ctx, []outgoing{o})
	} else if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	o, err := newOutgoing(m.Topic, m.Key, m.Body, envID, time.Time{})
	if err != nil {
		return err
	}
	return t.send(ctx, []outgoing{o})
}

// pump long-polls the delay queue and forwards what comes, until Close.
func (t *Transport) pump() {
	var ref queueRef
	pause := minPause
	for {
		var err error
		if ref, err = t.queues.ensure(context.Background(), t.names.delay(), ""); err == nil {
			break
		}
		t.log.Warn("sqs: delay queue unavailable; delayed messages wait", "err", err, "retry", pause)
		if !t.sleep(pause) {
			return
		}
		pause = min(2*pause, maxPause)
	}
	var handlers sync.WaitGroup
	defer handlers.Wait()
	pause = minPause
	for !t.isClosed() {
		msgs, _, err := t.receive(ref, maxBatchEntries)
		if err != nil {
			if t.isClosed() {
				return
			}
			t.log.Warn("sqs: receive from the delay queue", "err", err, "retry", pause)
			if !t.sleep(pause) {
				return
			}
			pause = min(2*pause, maxPause)
			continue
		}
		pause = minPause
		for _, m := range msgs {
			in := incomingOf(ref.name, m)
			handlers.Go(func() { t.pumpOne(ref, in) })
		}
	}
}

// pumpOne forwards one message and deletes it; after Close it makes it
// visible again instead.
func (t *Transport) pumpOne(ref queueRef, in Incoming) {
	if t.isClosed() {
		t.setVisibility(context.Background(), ref, []string{in.ReceiptHandle}, 0)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-t.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := t.forward(ctx, in); err != nil {
		if ctx.Err() != nil {
			t.setVisibility(context.Background(), ref, []string{in.ReceiptHandle}, 0)
			return
		}
		// It comes back after the visibility timeout; SQS moves it to the
		// redrive queue after RedriveMaxReceives tries.
		t.log.Error("sqs: forwarding a delayed message failed; it is tried again", "message", in.MessageID, "err", err)
		return
	}
	if err := t.deleteMessage(context.Background(), ref, in.ReceiptHandle); err != nil {
		// Forwarded again later: FIFO queues drop the repeat, standard
		// queues deliver it twice (at least once).
		t.log.Warn("sqs: deleting a forwarded delayed message failed", "message", in.MessageID, "err", err)
	}
}

// sleep waits d, or until Close (then false).
func (t *Transport) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.stop:
		return false
	}
}

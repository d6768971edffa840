package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// handle processes one delivery and settles it according to the outcome.
func (w *Worker) handle(workCtx, settleCtx context.Context, d transport.Delivery) {
	if workCtx.Err() != nil {
		// The shutdown grace is over: leave the delivery unsettled so it is
		// redelivered when the subscription closes, without spending an
		// attempt on it.
		return
	}
	if obs := w.cfg.Observer; obs != nil {
		obs.Received(d.Topic())
	}
	if w.cfg.AckOnReceipt {
		if err := w.settle(settleCtx, d, func() error { return d.Ack(settleCtx) }); err != nil {
			// Not acknowledged, so possibly delivered again: handling it
			// now could handle it twice.
			return
		}
	}
	err := w.try(workCtx, d)
	for delay := unavailableBackoff; functions.IsUnavailable(err) && workCtx.Err() == nil; delay = min(2*delay, maxUnavailableBackoff) {
		// An outage is no fault of the message: keep it (and its key's
		// lane) until the storage or broker is back, rather than spending
		// its attempts and dead-lettering it.
		w.log.Warn("infrastructure unavailable; retrying in place", "topic", d.Topic(), "key", d.Key(), "in", delay, "err", err)
		select {
		case <-workCtx.Done():
		case <-time.After(delay):
			err = w.try(workCtx, d)
		}
	}
	if w.cfg.AckOnReceipt {
		if err != nil {
			w.log.Error("message acknowledged on receipt failed; it is lost (at most once)", "topic", d.Topic(), "key", d.Key(),
				"permanent", functions.IsPermanent(err), "err", err)
		}
		return
	}
	var settle func() error
	switch {
	case err != nil && workCtx.Err() != nil && !functions.IsPermanent(err):
		// Interrupted by the end of the grace period, which is no fault of
		// the message: it is redelivered when the subscription closes
		// without spending an attempt.
		w.log.Warn("handler interrupted by shutdown; message will be redelivered", "topic", d.Topic(), "key", d.Key(), "err", err)
		return
	case err == nil:
		settle = func() error { return d.Ack(settleCtx) }
	case functions.IsPermanent(err):
		w.log.Warn("dead-lettering message", "topic", d.Topic(), "key", d.Key(), "attempt", d.Attempt(), "err", err)
		settle = func() error { return d.DeadLetter(settleCtx, err.Error()) }
	default:
		w.log.Warn("message failed; will retry", "topic", d.Topic(), "key", d.Key(), "attempt", d.Attempt(), "err", err)
		settle = func() error { return d.Nack(settleCtx, err) }
	}
	_ = w.settle(settleCtx, d, settle)
}

// try processes d once and tells the observer how it went.
func (w *Worker) try(workCtx context.Context, d transport.Delivery) error {
	start := time.Now()
	err := w.process(workCtx, d)
	w.observe(workCtx, d.Topic(), start, err)
	return err
}

// Tries of a settlement that fails (the broker or the queue's database
// unreachable for a moment, say), and the backoff between them: about six
// seconds in all, within a queue's usual visibility timeout. A settlement
// that still fails is left to the transport, which delivers the message
// again; the handlers are idempotent, so that costs a repeat, never a loss.
const (
	settleTries   = 7
	settleBackoff = 100 * time.Millisecond
)

// settle runs fn, the delivery's settlement, trying it again with backoff
// while it fails for a reason that another try may cure. It returns the
// last error, already logged.
func (w *Worker) settle(ctx context.Context, d transport.Delivery, fn func() error) error {
	err := fn()
	for try, delay := 1, settleBackoff; err != nil && try < settleTries && settleRetryable(ctx, err); try, delay = try+1, 2*delay {
		w.log.Warn("settling delivery failed; trying again", "topic", d.Topic(), "key", d.Key(), "attempt", d.Attempt(), "try", try, "in", delay, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
			err = fn()
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, transport.ErrRedelivered), errors.Is(err, transport.ErrClosed):
		w.log.Warn("delivery not settled; its message will be delivered again", "topic", d.Topic(), "key", d.Key(), "attempt", d.Attempt(), "err", err)
	default:
		w.log.Error("settling delivery failed; leaving the message to the transport to deliver again", "topic", d.Topic(), "key", d.Key(), "attempt", d.Attempt(), "tries", settleTries, "err", err)
	}
	return err
}

// settleRetryable reports whether a failed settlement is worth another try.
func settleRetryable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, transport.ErrRedelivered) && !errors.Is(err, transport.ErrClosed)
}

// Backoff of in-place retries during an outage.
const (
	unavailableBackoff    = 100 * time.Millisecond
	maxUnavailableBackoff = 5 * time.Second
)

// process runs the function contract, turning a panic anywhere in it into a
// retryable error so the message is retried and finally dead-lettered.
func (w *Worker) process(ctx context.Context, d transport.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("handler panicked", "topic", d.Topic(), "key", d.Key(), "attempt", d.Attempt(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: handler panicked: %v", w.fn.Name(), r)
		}
	}()
	if rh, ok := w.fn.(functions.RawHandler); ok {
		return functions.ProcessRaw(ctx, rh, d.Body(), w.publish)
	}
	if ed, ok := d.(envelopeDelivery); ok {
		if env, ok := ed.DeliveredEnvelope(); ok {
			return functions.ProcessEnvelopeTx(ctx, w.fn, env, w.publish, w.txOut)
		}
	}
	env, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		return err
	}
	return functions.ProcessEnvelopeTx(ctx, w.fn, env, w.publish, w.txOut)
}

// envelopeDelivery is a delivery that can hand over its envelope already
// decoded (the memory transport does for the envelopes it kept in memory),
// sparing the decoding of Body. ok false means: decode Body.
type envelopeDelivery interface {
	DeliveredEnvelope() (env core.Envelope, ok bool)
}

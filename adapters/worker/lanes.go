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

// laneQueue bounds each lane's backlog: with it full, receiving stops, which
// is the backpressure that keeps a slow function from buffering without end.
const laneQueue = 8

// lanes routes deliveries: keyed ones to the lane their key hashes to, so a
// key is handled by one goroutine at a time; unkeyed ones to whichever lane
// is free first.
type lanes struct {
	own    []chan transport.Delivery
	shared chan transport.Delivery
}

func newLanes(n int) *lanes {
	ls := &lanes{own: make([]chan transport.Delivery, n), shared: make(chan transport.Delivery, n)}
	for i := range ls.own {
		ls.own[i] = make(chan transport.Delivery, laneQueue)
	}
	return ls
}

// dispatch queues d, blocking while its lane is full. It reports false if
// ctx ended first.
func (ls *lanes) dispatch(ctx context.Context, d transport.Delivery) bool {
	ch := ls.shared
	if k := d.Key(); k != "" {
		ch = ls.own[fnv32a(k)%uint32(len(ls.own))]
	}
	select {
	case ch <- d:
		return true
	case <-ctx.Done():
		return false
	}
}

// close tells the lanes that nothing more will be dispatched; they drain
// what is queued and return.
func (ls *lanes) close() {
	for _, ch := range ls.own {
		close(ch)
	}
	close(ls.shared)
}

// fnv32a is FNV-1a over the key's bytes, inlined to avoid a []byte copy.
func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// runLane handles deliveries one at a time until both its queues are closed
// and drained.
func (w *Worker) runLane(workCtx, settleCtx context.Context, own, shared <-chan transport.Delivery) {
	for own != nil || shared != nil {
		select {
		case d, ok := <-own:
			if !ok {
				own = nil
				continue
			}
			w.handle(workCtx, settleCtx, d)
		case d, ok := <-shared:
			if !ok {
				shared = nil
				continue
			}
			w.handle(workCtx, settleCtx, d)
		}
	}
}

// handle processes one delivery and settles it according to the outcome.
func (w *Worker) handle(workCtx, settleCtx context.Context, d transport.Delivery) {
	if workCtx.Err() != nil {
		// The shutdown grace is over: leave the delivery unsettled so it is
		// redelivered when the subscription closes, without spending an
		// attempt on it.
		return
	}
	err := w.process(workCtx, d)
	for delay := unavailableBackoff; functions.IsUnavailable(err) && workCtx.Err() == nil; delay = min(2*delay, maxUnavailableBackoff) {
		// An outage is no fault of the message: keep it (and its key's
		// lane) until the storage or broker is back, rather than spending
		// its attempts and dead-lettering it.
		w.log.Warn("infrastructure unavailable; retrying in place", "topic", d.Topic(), "key", d.Key(), "in", delay, "err", err)
		select {
		case <-workCtx.Done():
		case <-time.After(delay):
			err = w.process(workCtx, d)
		}
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
	w.settle(settleCtx, d, settle)
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
// while it fails for a reason that another try may cure.
func (w *Worker) settle(ctx context.Context, d transport.Delivery, fn func() error) {
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

package pulsar

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// ErrMessageTooLarge is wrapped by the error Publish and PublishRaw return
// for a body over Config.MaxMessageSize (or the broker's limit).
var ErrMessageTooLarge = transport.ErrMessageTooLarge

// propDeliverAt is the message property holding a delayed message's
// instant in Unix nanoseconds. The broker keeps only milliseconds and, unless
// configured strictly, may dispatch up to a tick early; subscriptions hold a
// message that arrives before this instant until it is due.
const propDeliverAt = "weft-deliver-at"

// outgoing is one message of a Publish call, checked and ready to send.
type outgoing struct {
	topic string // weft topic
	what  string // for errors: "envelope <id>" or "raw message"
	msg   *pulsar.ProducerMessage
	via   *producers
}

// largeMessage is the body size from which messages go unbatched and
// compressed (see unbatchedProducerOptions).
const largeMessage = 128 << 10

// route picks each message's producer. A topic that gets a large message
// in this call gets all of the call's messages through the unbatched
// producer, so their order is kept.
func (t *Transport) route(out []outgoing) {
	large := map[string]bool{}
	for _, o := range out {
		if len(o.msg.Payload) > largeMessage {
			large[o.topic] = true
		}
	}
	for i := range out {
		out[i].via = t.producers
		if large[out[i].topic] {
			out[i].via = t.unbatched
		}
	}
}

// Publish encodes and checks every envelope before sending any, then sends
// them all and waits until the broker has acknowledged each.
func (t *Transport) Publish(ctx context.Context, envs ...core.Envelope) error {
	if t.isClosed() {
		return transport.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out := make([]outgoing, 0, len(envs))
	now := time.Now()
	for i, e := range envs {
		body, err := core.EncodeEnvelope(e)
		if err != nil {
			return fmt.Errorf("pulsar: publish envelope %d of %d: %w", i+1, len(envs), err)
		}
		if err := t.checkSize(e.Topic, len(body)); err != nil {
			return fmt.Errorf("pulsar: publish envelope %s: %w", e.ID, err)
		}
		m := &pulsar.ProducerMessage{Payload: body, Key: e.PartitionKey, EventTime: e.Time}
		// A past instant means now: sent without a delay, it can be batched.
		if at := e.DeliverAtTime(); at.After(now) {
			m.DeliverAt = at
			m.Properties = map[string]string{propDeliverAt: strconv.FormatInt(at.UnixNano(), 10)}
		}
		out = append(out, outgoing{topic: e.Topic, what: "envelope " + e.ID, msg: m})
	}
	t.route(out)
	return t.send(ctx, out)
}

// PublishRaw sends a copy of body as is, for immediate delivery.
func (t *Transport) PublishRaw(ctx context.Context, topic, key string, body []byte) error {
	if t.isClosed() {
		return transport.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if topic == "" {
		return errors.New("pulsar: publish raw: empty topic")
	}
	if err := t.checkSize(topic, len(body)); err != nil {
		return fmt.Errorf("pulsar: publish raw: %w", err)
	}
	out := []outgoing{{topic: topic, what: "raw message", msg: &pulsar.ProducerMessage{Payload: append([]byte(nil), body...), Key: key}}}
	t.route(out)
	return t.send(ctx, out)
}

func (t *Transport) checkSize(topic string, n int) error {
	if n > t.cfg.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes for topic %q exceeds the %d byte limit", ErrMessageTooLarge, n, topic, t.cfg.MaxMessageSize)
	}
	return nil
}

// send gets every producer first (so a failure there sends nothing), sends
// all messages asynchronously, flushes the batches and waits for every
// broker receipt. On error some messages may have been sent.
func (t *Transport) send(ctx context.Context, out []outgoing) error {
	prods := make([]pulsar.Producer, len(out))
	for i, o := range out {
		p, err := o.via.get(ctx, o.topic)
		if err != nil {
			return fmt.Errorf("pulsar: publish %s to %s: %w", o.what, o.topic, err)
		}
		prods[i] = p
	}
	errs := make([]error, len(out))
	var wg sync.WaitGroup
	wg.Add(len(out))
	for i, o := range out {
		prods[i].SendAsync(ctx, o.msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			errs[i] = err
			wg.Done()
		})
	}
	// Flush so batches leave now rather than after BatchingMaxPublishDelay;
	// the receipts are awaited below, so flush errors need no handling.
	flushed := make(map[pulsar.Producer]bool, 1)
	for i, p := range prods {
		if !flushed[p] && out[i].via == t.producers && !t.cfg.DisableBatching {
			flushed[p] = true
			wg.Go(func() { _ = p.FlushWithCtx(ctx) })
		}
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("pulsar: publish: waiting for the broker: %w", ctx.Err())
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("pulsar: publish %s to %s: %w", out[i].what, out[i].topic, t.sendError(err))
		}
	}
	return nil
}

// sendError maps the client's errors to the transport's.
func (t *Transport) sendError(err error) error {
	switch {
	case errors.Is(err, pulsar.ErrMessageTooLarge), strings.Contains(err.Error(), "exceeds MaxMessageSize"):
		return fmt.Errorf("%w: over the broker's limit: %w", ErrMessageTooLarge, err)
	case errors.Is(err, pulsar.ErrProducerClosed) && t.isClosed():
		return transport.ErrClosed
	}
	return err
}

package sqs

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftio/weft/transport"
)

// Subscribe joins group on topic. The topic's queue belongs to the first
// group that subscribes (its weft-group tag); any other group gets a queue
// of its own (GroupQueueName), which Publish sends to from then on.
// Queues are created when missing (CreateQueues). A keyed subscription
// needs a FIFO queue when the transport declares per-key order: its
// topic's prefix must be one of FifoPrefixes. Without any FIFO prefix the
// transport declares no order, and a keyed subscription is served as an
// unordered one.
func (t *Transport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	if opts.Group == "" {
		return nil, errors.New("sqs: subscribe: a consumer group is required")
	}
	if err := t.use(); err != nil {
		return nil, err
	}
	fifo := t.names.isFifo(topic)
	if opts.Keyed && !fifo && len(t.cfg.FifoPrefixes) > 0 {
		return nil, fmt.Errorf("sqs: subscribe to %s: per-key order needs a FIFO queue, and %s is a standard queue: add the topic's prefix to fifoPrefixes (WEFT_SQS_FIFO_PREFIXES)",
			topic, t.names.queue(topic))
	}
	ref, err := t.groupQueue(ctx, topic, opts.Group)
	if err != nil {
		return nil, err
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = transport.DefaultMaxAttempts
	}
	if opts.Backoff == nil {
		opts.Backoff = transport.DefaultBackoff
	}
	if opts.MaxAttempts >= t.cfg.RedriveMaxReceives {
		t.log.Warn("sqs: SQS moves a message to the redrive queue before the subscription's MaxAttempts dead-letters it; raise redriveMaxReceives",
			"topic", topic, "maxAttempts", opts.MaxAttempts, "redriveMaxReceives", t.cfg.RedriveMaxReceives)
	}
	s := newSubscription(t, topic, ref, opts, opts.Keyed && fifo)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, transport.ErrClosed
	}
	t.subs[s] = struct{}{}
	t.wg.Go(s.poll)
	t.wg.Go(s.heartbeat)
	t.mu.Unlock()
	return s, nil
}

// groupQueue is the queue group reads topic from: the topic's own when
// the group owns it (or is the first to claim it), else the group's.
func (t *Transport) groupQueue(ctx context.Context, topic, group string) (queueRef, error) {
	ref, err := t.queues.ensure(ctx, t.names.queue(topic), topic)
	if err != nil {
		return queueRef{}, err
	}
	owner, err := t.queues.claim(ctx, ref, group)
	if err != nil {
		return queueRef{}, err
	}
	if owner == group {
		return ref, nil
	}
	gref, err := t.queues.ensure(ctx, t.names.groupQueue(topic, group), topic)
	if err != nil {
		return queueRef{}, err
	}
	if owner, err = t.queues.claim(ctx, gref, group); err != nil {
		return queueRef{}, err
	}
	if owner != group {
		return queueRef{}, fmt.Errorf("sqs: subscribe group %s to %s: its queue %s belongs to group %s", group, topic, gref.name, owner)
	}
	t.queues.invalidate(topic)
	return gref, nil
}

package pulsar

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
)

// ackGroupTime is how long acks wait to be sent together (unless
// Config.AckWithResponse).
const ackGroupTime = 10 * time.Millisecond

// Subscribe joins opts.Group (the Pulsar subscription name) on topic: a
// Key_Shared subscription when opts.Keyed, Shared otherwise, starting at the
// earliest retained message when the group is new. Every member of a group
// must agree on Keyed; the broker refuses a member of the other type.
func (t *Transport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	return t.SubscribeTuned(ctx, topic, opts, Tuning{})
}

// SubscribeTuned is Subscribe with the consumer adjusted by tune; the zero
// Tuning gives exactly Subscribe.
func (t *Transport) SubscribeTuned(ctx context.Context, topic string, opts transport.SubscribeOptions, tune Tuning) (transport.Subscription, error) {
	if t.isClosed() {
		return nil, transport.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case topic == "":
		return nil, errors.New("pulsar: subscribe: empty topic")
	case opts.Group == "":
		return nil, fmt.Errorf("pulsar: subscribe to %q: SubscribeOptions.Group is required", topic)
	case opts.MaxAttempts < 0:
		return nil, fmt.Errorf("pulsar: subscribe to %q: SubscribeOptions.MaxAttempts is %d, want >= 0", topic, opts.MaxAttempts)
	}
	if err := tune.validate(); err != nil {
		return nil, fmt.Errorf("pulsar: subscribe to %q: %w", topic, err)
	}
	full := t.pulsarTopic(topic)
	queue := t.cfg.ReceiverQueueSize
	if tune.ReceiverQueueSize > 0 {
		queue = tune.ReceiverQueueSize
	}
	consumer, err := t.newConsumer(ctx, pulsar.ConsumerOptions{
		Topic:                          full,
		SubscriptionName:               opts.Group,
		Type:                           tune.kind(opts.Keyed),
		SubscriptionInitialPosition:    tune.position(),
		Properties:                     tune.Properties,
		ReceiverQueueSize:              queue,
		EnableBatchIndexAcknowledgment: true,
		AckWithResponse:                t.cfg.AckWithResponse,
		AckGroupingOptions:             &pulsar.AckGroupingOptions{MaxSize: 1000, MaxTime: ackGroupTime},
	})
	if err != nil {
		return nil, fmt.Errorf("pulsar: subscribe to %s (%s) as group %q: %w", topic, full, opts.Group, err)
	}
	s := newSubscription(t, topic, opts, consumer, queue)
	t.mu.Lock()
	if t.isClosed() {
		t.mu.Unlock()
		consumer.Close()
		return nil, transport.ErrClosed
	}
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	go s.pump()
	return s, nil
}

// newConsumer subscribes in the background, so that ctx and Close can stop
// the wait (the client retries for up to OperationTimeout, even once
// closed). A consumer that arrives after its caller gave up is closed.
func (t *Transport) newConsumer(ctx context.Context, opts pulsar.ConsumerOptions) (pulsar.Consumer, error) {
	type result struct {
		c   pulsar.Consumer
		err error
	}
	var (
		mu        sync.Mutex
		abandoned bool
		ch        = make(chan result, 1)
	)
	go func() {
		c, err := t.client.Subscribe(opts)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if c != nil {
				c.Close()
			}
			return
		}
		ch <- result{c, err}
	}()
	giveUp := func(why error) (pulsar.Consumer, error) {
		mu.Lock()
		defer mu.Unlock()
		select {
		case r := <-ch:
			if r.c != nil {
				r.c.Close()
			}
		default:
			abandoned = true
		}
		return nil, why
	}
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		return giveUp(ctx.Err())
	case <-t.done:
		return giveUp(transport.ErrClosed)
	}
}

// forget drops a closed subscription from the transport's set.
func (t *Transport) forget(s *subscription) {
	t.mu.Lock()
	delete(t.subs, s)
	t.mu.Unlock()
}

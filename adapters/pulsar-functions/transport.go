package pulsarfunctions

import (
	"context"

	apulsar "github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pulsar"
)

// Transport is what an instance needs of weft's Pulsar transport
// (*pulsar.Transport): topic names to match the config's inputs against,
// subscriptions tuned as the config asks, and a producer for the log topic.
type Transport interface {
	transport.Transport
	TopicName(topic string) string
	SubscribeTuned(ctx context.Context, topic string, opts transport.SubscribeOptions, tune pulsar.Tuning) (transport.Subscription, error)
	CreateProducer(opts apulsar.ProducerOptions) (apulsar.Producer, error)
}

var _ Transport = (*pulsar.Transport)(nil)

// tunedTransport is the transport a worker gets: its Subscribe applies the
// tuning of the topic's input.
type tunedTransport struct {
	Transport
	tunings map[string]pulsar.Tuning // by weft topic
}

func (t *tunedTransport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	return t.SubscribeTuned(ctx, topic, opts, t.tunings[topic])
}

// checkedTransport keeps the transport's SubscriptionChecker visible to the
// worker, which warns of outputs nothing consumes through it.
type checkedTransport struct {
	*tunedTransport
	transport.SubscriptionChecker
}

func tuned(tr Transport, tunings map[string]pulsar.Tuning) transport.Transport {
	t := &tunedTransport{Transport: tr, tunings: tunings}
	if sc, ok := tr.(transport.SubscriptionChecker); ok {
		return checkedTransport{t, sc}
	}
	return t
}

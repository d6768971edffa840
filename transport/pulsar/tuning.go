package pulsar

import (
	"fmt"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
)

// Tuning adjusts one subscription beyond transport.SubscribeOptions, for a
// runtime that must follow consumer settings made elsewhere (a Pulsar
// Functions instance config names the subscription type, initial position,
// receiver queue and consumer properties). The zero Tuning changes nothing.
type Tuning struct {
	// Failover makes a keyed subscription a Failover one (one active member
	// per topic partition, so every key keeps its order) instead of
	// Key_Shared. It does not apply to unkeyed subscriptions, which stay
	// Shared.
	Failover bool
	// Latest starts a new group at the next message published instead of
	// at the earliest message the topic retains. Messages published before
	// the group's first member subscribed are then never delivered to it.
	Latest bool
	// ReceiverQueueSize overrides Config.ReceiverQueueSize for this
	// subscription (0: the Config's).
	ReceiverQueueSize int
	// Properties are the consumer's properties, shown by the broker's
	// topic stats.
	Properties map[string]string
}

func (tu Tuning) validate() error {
	if tu.ReceiverQueueSize < 0 {
		return fmt.Errorf("Tuning.ReceiverQueueSize is %d, want >= 0 (0: Config.ReceiverQueueSize)", tu.ReceiverQueueSize)
	}
	return nil
}

// kind is the Pulsar subscription type of a subscription.
func (tu Tuning) kind(keyed bool) pulsar.SubscriptionType {
	switch {
	case keyed && tu.Failover:
		return pulsar.Failover
	case keyed:
		return pulsar.KeyShared
	}
	return pulsar.Shared
}

func (tu Tuning) position() pulsar.SubscriptionInitialPosition {
	if tu.Latest {
		return pulsar.SubscriptionPositionLatest
	}
	return pulsar.SubscriptionPositionEarliest
}

// CreateProducer creates a producer with opts on the transport's client,
// for a Pulsar topic that carries no weft topic (a Pulsar Functions log
// topic, say). The caller owns the producer and closes it before closing
// the transport. It waits for the broker up to Config.OperationTimeout.
func (t *Transport) CreateProducer(opts pulsar.ProducerOptions) (pulsar.Producer, error) {
	if t.isClosed() {
		return nil, transport.ErrClosed
	}
	p, err := t.client.CreateProducer(opts)
	if err != nil {
		return nil, fmt.Errorf("pulsar: producer on %s: %w", opts.Topic, err)
	}
	return p, nil
}

// Package transport defines the broker seam of weft: publish batches of
// envelopes, subscribe with consumer groups, per-key order, delayed delivery,
// redelivery with backoff and dead-letter topics.
//
// Drivers live in sub-packages (memory, and later pulsar and pgqueue) and must
// all pass the conformance suite in transporttest, which adapts to the
// Capabilities a driver declares.
package transport

import (
	"context"
	"errors"
	"time"

	"github.com/weftio/weft/core"
)

// ErrClosed is returned by operations on a closed transport or subscription.
var ErrClosed = errors.New("transport: closed")

// ErrMessageTooLarge is returned (wrapped, with the sizes) by Publish for
// an envelope over the driver's or the broker's size limit. It is
// permanent: publishing the same envelope again cannot succeed.
var ErrMessageTooLarge = errors.New("transport: message too large")

// ErrRedelivered is wrapped by the error a settlement (Ack, Nack,
// DeadLetter) returns when the delivery can no longer be settled because
// its message is, or is about to be, handed out again (a pgqueue claim that
// lapsed, say). Trying the settlement again is pointless; nothing is lost.
var ErrRedelivered = errors.New("transport: the delivery can no longer be settled; its message is delivered again")

// Capabilities declares what a driver guarantees.
type Capabilities struct {
	// KeyedOrder: on a Keyed subscription, at most one message per partition
	// key is in flight per group, in publish order.
	KeyedOrder bool
	// Delay: envelopes with DeliverAt are delivered at or after that instant.
	Delay bool
	// DeadLetter: deliveries can be moved to the dead-letter topic, and are
	// moved there after MaxAttempts failed deliveries.
	DeadLetter bool
	// Durable: messages survive a restart of the process.
	Durable bool
	// MaxMessageSize is the largest encoded envelope accepted (0: no limit).
	MaxMessageSize int
}

// Transport publishes and subscribes. Implementations are safe for
// concurrent use.
type Transport interface {
	Capabilities() Capabilities
	// Publish sends every envelope to its Topic, honouring PartitionKey and
	// DeliverAt. It returns only once the broker has accepted all of them;
	// on error some may have been sent (delivery is at-least-once).
	Publish(ctx context.Context, envs ...core.Envelope) error
	// PublishRaw sends bytes that may not be a valid envelope. It exists so
	// runtimes and tests can exercise the handling of malformed input.
	PublishRaw(ctx context.Context, topic, key string, body []byte) error
	// Subscribe joins the consumer group opts.Group on topic. Every group
	// receives every message; the members of one group share them.
	Subscribe(ctx context.Context, topic string, opts SubscribeOptions) (Subscription, error)
	// Close stops every subscription; later calls return ErrClosed.
	Close() error
}

// SubscribeOptions configures one subscription.
type SubscribeOptions struct {
	// Group names the consumer group (required).
	Group string
	// Keyed asks for per-key order (see Capabilities.KeyedOrder).
	Keyed bool
	// MaxAttempts is how many deliveries a message gets before it is moved
	// to the dead-letter topic (0: DefaultMaxAttempts).
	MaxAttempts int
	// Backoff gives the redelivery delay after the n-th failed attempt
	// (n starts at 1). Nil: DefaultBackoff.
	Backoff func(attempt int) time.Duration
}

// DefaultMaxAttempts is the number of deliveries before dead-lettering.
const DefaultMaxAttempts = 5

// DefaultBackoff doubles from 100 ms up to 10 s.
func DefaultBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < attempt && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

// Subscription yields deliveries of one group member.
type Subscription interface {
	// Receive blocks until a delivery is available, ctx ends (ctx.Err()) or
	// the subscription is closed (ErrClosed).
	Receive(ctx context.Context) (Delivery, error)
	// Close leaves the group; unacknowledged deliveries are redelivered to
	// other members.
	Close() error
}

// Delivery is one received message. Exactly one of Ack, Nack or DeadLetter
// should be called; later calls are no-ops.
type Delivery interface {
	// Body is the message as published (normally an encoded envelope).
	Body() []byte
	// Key is the partition key the message was published with.
	Key() string
	// Topic is the topic the message was received from.
	Topic() string
	// Attempt counts deliveries of this message, starting at 1.
	Attempt() int
	// Ack confirms processing.
	Ack(ctx context.Context) error
	// Nack asks for redelivery after the backoff; after MaxAttempts the
	// message goes to the dead-letter topic with cause as the reason.
	Nack(ctx context.Context, cause error) error
	// DeadLetter moves the message to the dead-letter topic at once.
	DeadLetter(ctx context.Context, reason string) error
}

// SubscriptionChecker is implemented by transports that can tell whether a
// topic has a subscription: a consumer group that has subscribed, whether
// or not one of its members is connected now. What is published to a
// topic without one waits until one comes (or forever): a client asks, to
// say so rather than wait in silence.
type SubscriptionChecker interface {
	HasSubscription(ctx context.Context, topic string) (bool, error)
}

// TxPublisher is implemented by transports whose messages live in a
// database that a storage driver can also write (see storage.TxKeyValue):
// the state write and the messages it produces then commit in one
// transaction, so a crash can neither lose nor duplicate them.
type TxPublisher interface {
	// PublishTx writes envs inside tx, the storage driver's open
	// transaction handle. It fails, without writing, when tx is not a
	// handle of the kind the transport uses. Envelopes become visible to
	// consumers when tx commits, and not at all if it rolls back.
	PublishTx(ctx context.Context, tx any, envs ...core.Envelope) error
	// TxDomain names the database the messages live in, in the same form
	// as storage.TxKeyValue.TxDomain; the two must be equal for a caller
	// to combine them.
	TxDomain() string
}

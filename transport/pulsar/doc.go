// Package pulsar is the Apache Pulsar transport of weft, on the official Go
// client (github.com/apache/pulsar-client-go).
//
// Mapping:
//
//   - A weft topic "<prefix>:<entity>" is the persistent topic
//     persistent://<tenant>/<namespace>/<prefix>:<entity> (see TopicName);
//     topics are created by the broker on first use (allowAutoTopicCreation).
//     With Config.AdminURL set, New creates the tenant and namespace.
//   - A consumer group is a subscription: Key_Shared for keyed
//     subscriptions, Shared otherwise. A new group starts at the earliest
//     message the topic still retains, so messages published before the
//     first member subscribed are delivered. Without a retention policy
//     the broker keeps unsubscribed messages only until their ledger is
//     trimmed: set one on the namespace if producers may run long before
//     consumers exist.
//   - Producers (one per topic, created on first use) batch by partition
//     key, so a batch never mixes keys, and Publish flushes its batches
//     before waiting for the broker's receipts. The partition key is the
//     message key, which Key_Shared hashes to pick the member. Messages over
//     128 KiB and dead-letter entries go through a second, unbatched
//     producer with ZSTD compression: the client counts a message's metadata
//     against the broker's limit, so a body of exactly MaxMessageSize fits
//     only compressed (an incompressible raw body within a few hundred bytes
//     of the limit is refused with ErrMessageTooLarge).
//   - DeliverAt becomes the message's deliverAt; the broker holds it back
//     (delayed delivery works on Shared and Key_Shared subscriptions) and
//     the member holds it until the exact instant if the broker sends it
//     early. A delayed message joins its key's order when it becomes due.
//
// Ordering and retries happen in each member (see subscription): at most
// one message per key is handed out at a time, in the order the broker
// dispatched them; a nacked message comes back from the member after the
// backoff with its key still blocked; attempts count the broker's
// redeliveries plus the member's own. A member holds what it received
// unacknowledged, so when it closes or dies the broker redelivers it, in
// order per key, to the other members.
//
// Dead-lettering publishes transport.DeadLetter's entry, which records the
// reason and attempts, to the mapped dead-letter topic
// (core.DeadLetterTopic), and acknowledges the message only once the broker
// has the entry. Each dead-letter topic first gets the durable subscription
// DeadLetterSubscription, so its entries wait there unread however short
// the namespace's retention is.
//
// Delivery is at least once: a member that loses its connection gets
// redeliveries, and acks are sent in groups every 10 ms, so a crash can
// repeat up to that much work.
//
// Broker settings this package relies on beyond Pulsar's defaults (the test
// broker of scripts/pulsar.sh has them): allowAutoTopicCreation=true, and
// acknowledgmentAtBatchIndexLevelEnabled=true, without which a member that
// leaves after acknowledging part of a batch has the whole batch redelivered
// to the others (duplicates, out of order per key). The test broker also
// sets isDelayedDeliveryDeliverAtTimeStrict=true, which only spares members
// holding early messages.
//
// Attempts: the broker counts a redelivery only when a consumer asks for it
// (which this package never does: nacks are retried by the member), not
// when a member closes or dies holding the message. A message that kills
// every process handling it is therefore redelivered without reaching
// MaxAttempts.
package pulsar

// Package memory is the in-process transport of weft: the embedded default
// for development, tests and single-process deployments.
//
// Semantics, beyond the transport.Transport contract:
//
//   - Every consumer group of a topic gets every message published after the
//     group was created. Messages published to a topic that has no group yet
//     are retained and handed to the first group that subscribes, so nothing
//     is lost while a process is still starting its consumers.
//   - A group is created by the first Subscribe naming it and outlives its
//     members: messages keep accumulating for it until a member returns.
//     Every member of a group must agree on SubscribeOptions.Keyed.
//   - On a Keyed group at most one message per partition key is in flight,
//     in publish order. A nacked message keeps blocking its key until it is
//     redelivered and settled. Messages without a key are not ordered.
//   - A delayed message (DeliverAt in the future) joins its key's queue at
//     the instant it becomes visible, not when it was published, so a timer
//     never holds up the other messages of its key.
//   - Publish drops an envelope whose ID was already published to the same
//     topic within the last 10,000 envelopes of that topic (see
//     WithDedupWindow). weft gives outputs deterministic IDs, so this is the
//     in-process counterpart of broker-side deduplication: a retried handler
//     that republishes its outputs does not duplicate them downstream.
//     PublishRaw and dead-letter entries are never deduplicated.
//   - Nothing is durable: messages live only as long as the Transport.
//
// Bodies are shared between groups and deliveries; consumers must not modify
// the slice returned by Delivery.Body.
//
// Envelopes skip the JSON round trip when they can: an envelope that would
// decode back field for field (UTF-8 strings, a UTC time, compact JSON data;
// nearly everything weft produces) is kept in memory, its body is encoded
// only if Body is called, and its deliveries offer it decoded through
//
//	DeliveredEnvelope() (core.Envelope, bool)
//
// which runtimes (adapters/worker) use instead of decoding Body. Publish
// still validates every envelope and enforces the size limit exactly as if
// it had encoded it.
package memory

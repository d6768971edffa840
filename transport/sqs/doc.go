// Package sqs is weft's transport on Amazon SQS, or a server that speaks
// its API (ElasticMQ in the tests), on aws-sdk-go-v2.
//
// # Queues
//
// Every topic "p:e" has a queue, QueuePrefix+"p_e" (see Config.QueueName
// for the exact rules, which deployment templates follow): a FIFO queue
// (".fifo") when p is one of FifoPrefixes, by default the keyed prefixes
// of core.IsKeyedPrefix, and a standard queue otherwise. Dead-letter
// topics ("p-dlq:e") are ordinary topics. Every queue the transport
// creates gets a redrive policy to a queue named like it with "-redrive"
// (RedriveQueueName), after RedriveMaxReceives receives: a backstop for a
// consumer that crashes on a message before it can dead-letter it. The
// transport itself dead-letters a message after MaxAttempts deliveries,
// and one received more often than that without being settled.
// CreateQueues off, a missing queue is an error that names it.
//
// # Consumer groups
//
// SQS has no fan-out: a queue's messages are shared by whoever receives.
// The topic's queue therefore belongs to the first group that subscribes,
// recorded in the queue tag weft-group. Any other group gets a queue of
// its own, GroupQueueName (the topic's, "__", the group), tagged too, and
// Publish sends to the topic's queue and to every group queue it knows of:
// it lists them (by name prefix) at most every 5 s per topic, and at once
// after a group subscribes through the same Transport. So a second group
// that subscribes in another process receives what is published from here
// a few seconds after its queue appeared, not what was published before;
// messages published before any group subscribed wait in the topic's queue
// for the first group. Two groups subscribing to a new topic at the same
// moment both tag its queue; each reads the tag back and takes the queue
// only if its own tag stayed, which SQS's tagging does not make atomic: in
// a deployment, subscribe a topic's first group before the others.
// HasSubscription reports a topic whose queue carries a weft-group tag.
//
// # Receiving
//
// A subscription receives while a Receive waits and nothing is buffered,
// up to ten messages at a time (long polls of WaitTime), and holds what it
// has not handed out yet hidden, as it does what it handed out and has not
// seen settled: a heartbeat extends their visibility timeouts before they
// run out; what no Receive asks for within half the visibility timeout goes
// back to SQS, for the group's other members. Close (of a subscription or
// of the Transport) makes all of them visible again at once. A long poll is never cancelled: SQS may hand
// messages to a request whose client went away, and they would stay hidden
// for the visibility timeout; so Close lets the poll under way end (up to
// WaitTime) and gives back what it brings.
//
// A keyed subscription reads a FIFO queue, with the partition key as
// message group id (the envelope id for envelopes without a key, which
// need no order). SQS hands out nothing more of a group while one of its
// messages is hidden; several of a group may come in one receive, and the
// subscription hands them out one at a time. Without FIFO prefixes the
// transport declares no per-key order, and a keyed subscription is an
// unordered one.
//
// Attempt is SQS's ApproximateReceiveCount, less the receives this
// subscription gave back unseen (messages received behind a nacked one of
// their group). Nack makes the message visible again after the backoff:
// SQS counts whole seconds, so the visibility timeout is set to the backoff
// rounded up and, for a backoff with a fraction, a timer makes the message
// visible at the backoff itself (never earlier; if the process dies in
// between, it shows up at the whole second). A settlement whose receipt
// handle SQS no longer takes fails wrapping transport.ErrRedelivered.
//
// # Delays
//
// An envelope due within 15 minutes, bound for a standard queue, is sent
// with DelaySeconds (rounded up: never early). One due later, or bound for
// a FIFO queue (which cannot delay one message), goes to the delay queue,
// QueuePrefix+"delay", delayed up to 15 minutes, with attributes naming
// its topic and due instant. The delay pump (DelayPump, one goroutine per
// Transport, started on first use) receives from it and forwards what is
// due to its topic (a FIFO queue deduplicates a repeated forward by
// envelope id), or sends it back for the rest of its delay. Forward does
// the same for a message a Lambda event source mapping hands over.
//
// # Messages
//
// Every message carries the message attribute weft-topic, weft-key when it
// has a partition key, weft-raw=base64 when its body is not text SQS
// takes (PublishRaw of arbitrary bytes; envelopes are JSON text), and
// weft-due on the delay queue. MaxMessageSize bounds the body and the
// attributes together, as SQS counts them. On FIFO queues the
// deduplication id is the envelope id (a SHA-256 when it is not one SQS
// takes; of topic, key and body for raw bytes): publishing an envelope
// again within SQS's five-minute window is a no-op there.
//
// # Against ElasticMQ
//
// The tests run against ElasticMQ 1.6.11 (scripts/elasticmq.sh). Where it
// differs from the AWS documentation, the transport follows AWS; what was
// seen (and checked by TestElasticMQ):
//
//   - it does not count message attributes towards the 256 KiB limit (AWS
//     does; the transport checks body and attributes itself);
//   - DeleteMessage with a receipt handle of a message already deleted, or
//     received again since, fails with ReceiptHandleIsInvalid (AWS takes
//     it, and may not delete);
//   - a long poll whose client went away still takes the messages that
//     arrive while it waits (AWS documents nothing either way), which is
//     why long polls are never cancelled here.
//
// The lost messages once blamed on ElasticMQ were the SDK's: see
// plainBodies in httpclient.go.
package sqs

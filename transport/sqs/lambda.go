package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// Incoming is one message as an event source (Lambda's SQS mapping) hands it over.
type Incoming struct {
	QueueName         string            // the queue's name (last part of the event source ARN)
	MessageID         string            // SQS's message id
	ReceiptHandle     string            // the handle of this receive
	Body              string            // the body as SQS has it
	Attributes        map[string]string // system attributes: ApproximateReceiveCount, MessageGroupId, ...
	MessageAttributes map[string]string // string values of the message attributes
}

// Message is an Incoming decoded.
type Message struct {
	Topic   string // the weft topic (weft-topic)
	Key     string // the partition key (weft-key)
	Body    []byte // the bytes published, base64 undone (weft-raw)
	Attempt int    // deliveries so far, from ApproximateReceiveCount
	Delayed bool   // from the delay queue: hand it to Forward
}

// Decode reads a message the transport published. It fails for a message
// without a weft-topic attribute or with a body that does not decode
// (a poison message: dead-letter it).
func (t *Transport) Decode(in Incoming) (Message, error) {
	m, err := t.decode(in)
	if err == nil && m.Topic == "" {
		err = fmt.Errorf("sqs: message %s on queue %s has no %s attribute: it was not published by weft", in.MessageID, in.QueueName, AttrTopic)
	}
	return m, err
}

// decode is Decode without requiring a topic (a subscription knows it).
func (t *Transport) decode(in Incoming) (Message, error) {
	m := Message{
		Topic:   in.MessageAttributes[AttrTopic],
		Key:     in.MessageAttributes[AttrKey],
		Attempt: 1,
		Delayed: in.QueueName == t.names.delay() || in.MessageAttributes[AttrDue] != "",
	}
	if n, err := strconv.Atoi(in.Attributes["ApproximateReceiveCount"]); err == nil && n > 0 {
		m.Attempt = n
	}
	body, err := decodeBody(in.Body, in.MessageAttributes)
	if err != nil {
		m.Body = []byte(in.Body)
		return m, fmt.Errorf("sqs: message %s on queue %s: %w", in.MessageID, in.QueueName, err)
	}
	m.Body = body
	return m, nil
}

// Forward handles a message of the delay queue: due, it is published to
// its topic; not yet, it is sent to the delay queue again for what remains
// (a message due within a second is held until due and then published, so
// it may take that long). It never deletes in: the caller does, an event
// source mapping when the function reports success. The delay pump uses it
// too.
func (t *Transport) Forward(ctx context.Context, in Incoming) error {
	if err := t.use(); err != nil {
		return err
	}
	return t.forward(ctx, in)
}

// RetryAfter makes a received message visible again after the given time
// (whole seconds, rounded up; 0: at once), for a failed item of a batch.
// A receipt handle that is no longer valid gives an error wrapping
// transport.ErrRedelivered.
func (t *Transport) RetryAfter(ctx context.Context, queueName, receiptHandle string, after time.Duration) error {
	if err := t.use(); err != nil {
		return err
	}
	ref, found, err := t.queues.lookup(ctx, queueName)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("sqs: retry a message of queue %s: the queue does not exist", queueName)
	}
	err = t.changeVisibility(ctx, ref, receiptHandle, ceilSeconds(min(after, maxVisibility)))
	if isStale(err) {
		return fmt.Errorf("%w: %w", transport.ErrRedelivered, err)
	}
	return err
}

// DeadLetter publishes the dead-letter entry of in (see
// transport.DeadLetter) to its topic's dead-letter topic, with reason. It
// does not delete in: the caller does, as for Forward. A message that does
// not decode is dead-lettered whole, on the dead-letter topic of the topic
// its queue is for when it names none (topic, which may be "").
func (t *Transport) DeadLetter(ctx context.Context, in Incoming, topic, reason string) error {
	if err := t.use(); err != nil {
		return err
	}
	m, _ := t.decode(in)
	if m.Topic == "" {
		m.Topic = topic
	}
	if m.Topic == "" {
		return errors.New("sqs: dead-letter a message that names no topic: give the topic of its queue")
	}
	return t.deadLetter(ctx, m.Topic, m.Key, m.Body, reason, m.Attempt)
}

// deadLetter publishes the dead-letter entry of a message.
func (t *Transport) deadLetter(ctx context.Context, topic, key string, body []byte, reason string, attempts int) error {
	dlq, entry := transport.DeadLetter(topic, key, body, reason, attempts, t.now())
	envID := ""
	if env, err := core.DecodeEnvelope(entry); err == nil {
		envID = env.ID
	}
	// No size check of our own: an entry is a little larger than the
	// message, which may still fit what SQS takes. When it does not, the
	// message stays in its queue and SQS moves it to the redrive queue
	// after RedriveMaxReceives receives.
	o, err := newOutgoing(dlq, key, entry, envID, time.Time{})
	if err == nil {
		err = t.send(ctx, []outgoing{o})
	}
	if err != nil {
		return fmt.Errorf("sqs: dead-letter a message of %s to %s: %w", topic, dlq, err)
	}
	return nil
}

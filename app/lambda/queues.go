package lambda

import (
	"context"
	"time"

	adapter "github.com/weftio/weft/adapters/lambda"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/sqs"
)

// queuesOf gives the handler the SQS transport's reading of its messages
// (nil for another transport: bodies are then taken as envelopes).
func queuesOf(tr transport.Transport) adapter.Queues {
	if t, ok := tr.(*sqs.Transport); ok {
		return queues{t}
	}
	return nil
}

// queues adapts the SQS transport to the handler.
type queues struct{ t *sqs.Transport }

func incoming(r adapter.Record) sqs.Incoming {
	return sqs.Incoming{QueueName: r.QueueName, MessageID: r.MessageID, ReceiptHandle: r.ReceiptHandle, Body: r.Body,
		Attributes: r.Attributes, MessageAttributes: r.MessageAttributes}
}

func (q queues) Decode(r adapter.Record) (adapter.Message, error) {
	m, err := q.t.Decode(incoming(r))
	return adapter.Message{Topic: m.Topic, Key: m.Key, Body: m.Body, Attempt: m.Attempt, Delayed: m.Delayed}, err
}

func (q queues) Forward(ctx context.Context, r adapter.Record) error {
	return q.t.Forward(ctx, incoming(r))
}

func (q queues) RetryAfter(ctx context.Context, queue, receipt string, after time.Duration) error {
	return q.t.RetryAfter(ctx, queue, receipt, after)
}

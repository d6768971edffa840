package sqs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Pauses after a failed receive call, growing while they keep failing.
const (
	minPause = 100 * time.Millisecond
	maxPause = 5 * time.Second
)

// receive long-polls ref for up to n messages, hidden for the visibility
// timeout. The call is not tied to any caller's context: cancelling a long
// poll may lose what SQS hands to it for the visibility timeout, so it is
// let end (within WaitTime) and its messages are handled by the caller.
// It returns the instant before the call, from which the messages'
// visibility timeout runs.
func (t *Transport) receive(ref queueRef, n int) ([]types.Message, time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.WaitTime+opTimeout)
	defer cancel()
	start := time.Now()
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(ref.url),
		MaxNumberOfMessages:         int32(min(max(n, 1), maxBatchEntries)),
		WaitTimeSeconds:             ceilSeconds(t.cfg.WaitTime),
		VisibilityTimeout:           ceilSeconds(t.cfg.VisibilityTimeout),
		AttributeNames:              []types.QueueAttributeName{types.QueueAttributeNameAll},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	}
	if ref.fifo {
		// Should the SDK retry the call, SQS returns the same messages
		// to the same attempt id instead of hiding them.
		in.ReceiveRequestAttemptId = aws.String(attemptID())
	}
	out, err := t.api.ReceiveMessage(ctx, in)
	if err != nil {
		if isNoQueue(err) {
			t.queues.forget(ref.name)
		}
		return nil, start, opError("receive", ref.name, err)
	}
	return out.Messages, start, nil
}

// attemptID is a fresh ReceiveRequestAttemptId.
func attemptID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// incomingOf is a received message in the form event sources hand over.
func incomingOf(queue string, m types.Message) Incoming {
	in := Incoming{
		QueueName:         queue,
		MessageID:         aws.ToString(m.MessageId),
		ReceiptHandle:     aws.ToString(m.ReceiptHandle),
		Body:              aws.ToString(m.Body),
		Attributes:        m.Attributes,
		MessageAttributes: make(map[string]string, len(m.MessageAttributes)),
	}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			in.MessageAttributes[k] = *v.StringValue
		}
	}
	return in
}

// visibilityResult sorts the receipt handles of a visibility change:
// changed, or refused as stale (the message was deleted, or received
// again). Those in neither kept the visibility they had.
type visibilityResult struct {
	changed, stale map[string]bool
}

// setVisibility changes the visibility timeout of messages of ref, ten at
// a time. Failures other than stale handles are logged.
func (t *Transport) setVisibility(ctx context.Context, ref queueRef, receipts []string, timeout int32) visibilityResult {
	res := visibilityResult{changed: map[string]bool{}, stale: map[string]bool{}}
	for len(receipts) > 0 {
		n := min(len(receipts), maxBatchEntries)
		batch := receipts[:n]
		receipts = receipts[n:]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, r := range batch {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(fmt.Sprintf("v%d", i)), ReceiptHandle: aws.String(r), VisibilityTimeout: timeout}
		}
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		out, err := t.api.ChangeMessageVisibilityBatch(cctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(ref.url), Entries: entries})
		cancel()
		if err != nil {
			t.log.Warn("sqs: changing the visibility of messages failed", "messages", len(batch), "timeout", timeout,
				"err", opError("change visibility", ref.name, err))
			continue
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			var i int
			if _, err := fmt.Sscanf(aws.ToString(f.Id), "v%d", &i); err != nil || i < 0 || i >= len(batch) {
				continue
			}
			failed[batch[i]] = true
			switch aws.ToString(f.Code) {
			case "ReceiptHandleIsInvalid", "MessageNotInflight", "InvalidReceiptHandle":
				res.stale[batch[i]] = true
			default:
				t.log.Warn("sqs: changing the visibility of a message failed", "queue", ref.name,
					"code", aws.ToString(f.Code), "err", aws.ToString(f.Message))
			}
		}
		for _, r := range batch {
			if !failed[r] {
				res.changed[r] = true
			}
		}
	}
	return res
}

// changeVisibility changes one message's visibility timeout.
func (t *Transport) changeVisibility(ctx context.Context, ref queueRef, receipt string, timeout int32) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := t.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(ref.url), ReceiptHandle: aws.String(receipt), VisibilityTimeout: timeout})
	if err != nil {
		return opError("change visibility", ref.name, err)
	}
	return nil
}

// deleteMessage deletes one message.
func (t *Transport) deleteMessage(ctx context.Context, ref queueRef, receipt string) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := t.api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(ref.url), ReceiptHandle: aws.String(receipt)})
	if err != nil {
		return opError("delete", ref.name, err)
	}
	return nil
}

// Package lambdatest runs role binaries as Lambda functions for the tests
// and benchmarks: Emulator runs one under the Runtime Interface Emulator,
// and Mapping plays Lambda's SQS event source mapping for the tests: it
// polls a queue, hands batches to a function as SQS events, and deletes
// what the function's partial batch response does not report as failed.
// Like Lambda's: it collects a batch up to its size or its batching
// window; a function error, or an answer that does not decode, leaves the
// whole batch to come back after its visibility timeout; failed messages
// come back after the visibility the function set for them (or the
// queue's); a FIFO queue gives one batch of a message group at a time; the
// queue's redrive policy moves a message received too often.
package lambdatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Invoker runs a function on one payload and returns its answer.
type Invoker func(ctx context.Context, payload []byte) ([]byte, error)

// Mapping maps one queue to a function.
type Mapping struct {
	Client    *sqs.Client
	QueueURL  string
	QueueName string
	Region    string
	// BatchSize is the most messages per invocation (default 10).
	BatchSize int
	// Window is how long a batch is collected for (default 0: what one
	// receive returns).
	Window time.Duration
	Invoke Invoker
	// Logf, when set, receives a line per failed invocation.
	Logf func(format string, args ...any)

	Stats Stats
}

// Stats counts what the mapping did.
type Stats struct {
	Invocations atomic.Int64
	Messages    atomic.Int64
	Failed      atomic.Int64 // reported in batchItemFailures
	Errors      atomic.Int64 // invocations that failed as a whole, but for timeouts
	TimedOut    atomic.Int64 // invocations that ran into the function's timeout
}

// Run polls until ctx ends.
func (m *Mapping) Run(ctx context.Context) {
	size := m.BatchSize
	if size <= 0 {
		size = 10
	}
	for ctx.Err() == nil {
		batch := m.collect(ctx, size)
		if len(batch) == 0 {
			continue
		}
		m.invoke(ctx, batch)
	}
}

// collect receives up to size messages: what comes within the window
// after the first one.
func (m *Mapping) collect(ctx context.Context, size int) []types.Message {
	var (
		batch []types.Message
		end   time.Time
	)
	for len(batch) < size && ctx.Err() == nil {
		wait := int32(1)
		if len(batch) > 0 {
			wait = 0
		}
		out, err := m.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.QueueURL),
			MaxNumberOfMessages:         int32(min(size-len(batch), 10)),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() == nil && len(batch) == 0 {
				time.Sleep(100 * time.Millisecond)
			}
			break
		}
		if len(batch) == 0 {
			if len(out.Messages) == 0 {
				return nil
			}
			end = time.Now().Add(m.Window)
		}
		batch = append(batch, out.Messages...)
		if !time.Now().Before(end) {
			break
		}
		if len(out.Messages) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return batch
}

// invoke hands a batch to the function and deletes what it handled.
func (m *Mapping) invoke(ctx context.Context, batch []types.Message) {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	arn := fmt.Sprintf("arn:aws:sqs:%s:000000000000:%s", m.Region, m.QueueName)
	for _, msg := range batch {
		attrs := map[string]events.SQSMessageAttribute{}
		for k, v := range msg.MessageAttributes {
			attrs[k] = events.SQSMessageAttribute{StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType)}
		}
		sys := map[string]string{}
		for k, v := range msg.Attributes {
			sys[k] = v
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(msg.MessageId), ReceiptHandle: aws.ToString(msg.ReceiptHandle),
			Body: aws.ToString(msg.Body), Md5OfBody: aws.ToString(msg.MD5OfBody), Attributes: sys, MessageAttributes: attrs,
			EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: m.Region})
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		panic(err) // the event is built from strings
	}
	m.Stats.Invocations.Add(1)
	m.Stats.Messages.Add(int64(len(batch)))
	answer, err := m.Invoke(ctx, payload)
	var resp events.SQSEventResponse
	if err == nil {
		err = json.Unmarshal(answer, &resp)
	}
	if err != nil {
		if errors.Is(err, ErrTimedOut) {
			m.Stats.TimedOut.Add(1)
		} else {
			m.Stats.Errors.Add(1)
		}
		if m.Logf != nil && ctx.Err() == nil {
			m.Logf("mapping %s: invocation failed, the batch of %d comes back: %v", m.QueueName, len(batch), err)
		}
		return
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	m.Stats.Failed.Add(int64(len(failed)))
	var entries []types.DeleteMessageBatchRequestEntry
	for i, msg := range batch {
		if !failed[aws.ToString(msg.MessageId)] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle})
		}
	}
	for len(entries) > 0 {
		n := min(len(entries), 10)
		out, err := m.Client.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.QueueURL), Entries: entries[:n]})
		if err == nil && len(out.Failed) > 0 {
			err = errors.New(aws.ToString(out.Failed[0].Message))
		}
		if err != nil && m.Logf != nil {
			m.Logf("mapping %s: delete: %v", m.QueueName, err)
		}
		entries = entries[n:]
	}
}

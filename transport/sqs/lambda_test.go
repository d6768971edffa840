package sqs_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/sqs"
)

// lambdaConfig is a transport as the Lambda adapter opens it: no pump,
// the event source mapping feeds the delay queue to the function.
func lambdaConfig(t *testing.T) sqs.Config {
	cfg := testConfig(t)
	cfg.DelayPump = false
	return cfg
}

// rawReceive takes one message from a queue as an event source mapping
// would, and converts it to an Incoming.
func rawReceive(t *testing.T, c *awssqs.Client, queue string, wait int32) (sqs.Incoming, bool) {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL(t, c, queue)),
		WaitTimeSeconds: wait, MaxNumberOfMessages: 1, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatalf("receive from %s: %v", queue, err)
	}
	if len(out.Messages) == 0 {
		return sqs.Incoming{}, false
	}
	m := out.Messages[0]
	in := sqs.Incoming{QueueName: queue, MessageID: *m.MessageId, ReceiptHandle: *m.ReceiptHandle, Body: *m.Body,
		Attributes: m.Attributes, MessageAttributes: map[string]string{}}
	for k, v := range m.MessageAttributes {
		in.MessageAttributes[k] = aws.ToString(v.StringValue)
	}
	return in, true
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cfg := lambdaConfig(t)
	tr := open(t, cfg)
	c := rawClient(t)
	topic := "workflow-engine:TripBooking"
	e := envelope(topic, "e1", "trip-1")
	if err := tr.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := tr.PublishRaw(context.Background(), topic, "trip-2", []byte{0, 0xff}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		in, ok := rawReceive(t, c, cfg.QueueName(topic), 5)
		if !ok {
			t.Fatal("nothing received")
		}
		if in.Attributes["MessageGroupId"] != "trip-1" && in.Attributes["MessageGroupId"] != "trip-2" {
			t.Errorf("group %q", in.Attributes["MessageGroupId"])
		}
		m, err := tr.Decode(in)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if m.Topic != topic || m.Attempt != 1 || m.Delayed {
			t.Errorf("message %+v", m)
		}
		switch m.Key {
		case "trip-1":
			if got, err := core.DecodeEnvelope(m.Body); err != nil || got.ID != "e1" {
				t.Errorf("body %s: %v", m.Body, err)
			}
		case "trip-2":
			if !bytes.Equal(m.Body, []byte{0, 0xff}) {
				t.Errorf("raw body %q", m.Body)
			}
		default:
			t.Errorf("message %d: key %q", i, m.Key)
		}
		if _, err := c.DeleteMessage(context.Background(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(queueURL(t, c, in.QueueName)),
			ReceiptHandle: aws.String(in.ReceiptHandle)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Decode(sqs.Incoming{QueueName: "q", MessageID: "m", Body: "{}"}); err == nil || !strings.Contains(err.Error(), sqs.AttrTopic) {
		t.Errorf("Decode of a foreign message: %v", err)
	}
}

// TestDelayRouting: long delays and FIFO targets go through the delay
// queue; a forward before the due instant delays again, never early.
func TestDelayRouting(t *testing.T) {
	t.Parallel()
	cfg := lambdaConfig(t)
	tr := open(t, cfg)
	c := rawClient(t)
	std, fifo := "task-executor:Hotel", "workflow-engine:TripBooking"

	late := envelope(std, "in-20-min", "")
	late.SetDeliverAt(time.Now().Add(20 * time.Minute))
	soon := envelope(std, "in-10-min", "")
	soon.SetDeliverAt(time.Now().Add(10 * time.Minute))
	keyed := envelope(fifo, "fifo-in-1s", "trip-1")
	keyed.SetDeliverAt(time.Now().Add(time.Second))
	if err := tr.Publish(context.Background(), late, soon, keyed); err != nil {
		t.Fatal(err)
	}
	if v, d := counts(t, c, queueURL(t, c, cfg.QueueName(std))); v != "0" || d != "1" {
		t.Errorf("standard queue: %s visible, %s delayed; want the 10-minute one delayed by SQS", v, d)
	}
	if _, d := counts(t, c, queueURL(t, c, cfg.DelayQueueName())); d != "2" {
		t.Errorf("delay queue: %s delayed, want 2 (20 minutes, FIFO)", d)
	}

	// The FIFO one comes out of the delay queue after a second; Forward
	// publishes it, and a repeated forward is deduplicated.
	in, ok := rawReceive(t, c, cfg.DelayQueueName(), 5)
	if !ok {
		t.Fatal("nothing came out of the delay queue")
	}
	m, err := tr.Decode(in)
	if err != nil || !m.Delayed || m.Topic != fifo || m.Key != "trip-1" {
		t.Fatalf("Decode: %+v, %v", m, err)
	}
	due := keyed.DeliverAtTime()
	for range 2 {
		if err := tr.Forward(context.Background(), in); err != nil {
			t.Fatalf("Forward: %v", err)
		}
	}
	if time.Now().Before(due) {
		t.Errorf("forwarded %v before its instant", time.Until(due))
	}
	got, ok := rawReceive(t, c, cfg.QueueName(fifo), 5)
	if !ok {
		t.Fatal("the forwarded message is not in its queue")
	}
	if env, err := core.DecodeEnvelope([]byte(got.Body)); err != nil || env.ID != "fifo-in-1s" || got.MessageAttributes[sqs.AttrDue] != "" {
		t.Errorf("forwarded %s (%v), attributes %v", got.Body, err, got.MessageAttributes)
	}
	// (Its group stays blocked while it is hidden: delete it.)
	if _, err := c.DeleteMessage(context.Background(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(queueURL(t, c, cfg.QueueName(fifo))),
		ReceiptHandle: aws.String(got.ReceiptHandle)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := rawReceive(t, c, cfg.QueueName(fifo), 1); ok {
		t.Error("a repeated forward was not deduplicated")
	}

	// A message not yet due goes back for what remains, at most 15
	// minutes; nothing reaches the topic.
	before, _ := counts(t, c, queueURL(t, c, cfg.DelayQueueName()))
	notDue := in
	notDue.MessageAttributes = map[string]string{}
	for k, v := range in.MessageAttributes {
		notDue.MessageAttributes[k] = v
	}
	notDue.MessageAttributes[sqs.AttrDue] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	if err := tr.Forward(context.Background(), notDue); err != nil {
		t.Fatal(err)
	}
	if _, d := counts(t, c, queueURL(t, c, cfg.DelayQueueName())); d != "2" {
		t.Errorf("delay queue: %s delayed after a forward an hour early, want 2 (visible before: %s)", d, before)
	}
	if _, ok := rawReceive(t, c, cfg.QueueName(fifo), 0); ok {
		t.Error("a message an hour early reached its topic")
	}

	// Nearly due: held until due, then published.
	near := in
	near.MessageAttributes = map[string]string{}
	for k, v := range in.MessageAttributes {
		near.MessageAttributes[k] = v
	}
	at := time.Now().Add(400 * time.Millisecond)
	near.MessageAttributes[sqs.AttrDue] = at.UTC().Format(time.RFC3339Nano)
	near.Body = strings.Replace(in.Body, "fifo-in-1s", "fifo-near", 1)
	if err := tr.Forward(context.Background(), near); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(at) {
		t.Errorf("forwarded %v early", time.Until(at))
	}
	if _, ok := rawReceive(t, c, cfg.QueueName(fifo), 2); !ok {
		t.Error("the nearly due message was not published")
	}
}

// TestRetryAfter: the message comes back after the time given, not before.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	cfg := lambdaConfig(t)
	tr := open(t, cfg)
	c := rawClient(t)
	topic := "task-executor:Hotel"
	if err := tr.Publish(context.Background(), envelope(topic, "e", "")); err != nil {
		t.Fatal(err)
	}
	in, ok := rawReceive(t, c, cfg.QueueName(topic), 5)
	if !ok {
		t.Fatal("nothing received")
	}
	start := time.Now()
	if err := tr.RetryAfter(context.Background(), in.QueueName, in.ReceiptHandle, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	again, ok := rawReceive(t, c, cfg.QueueName(topic), 5)
	if !ok {
		t.Fatal("not received again")
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("received again after %v", took)
	}
	if m, _ := tr.Decode(again); m.Attempt != 2 {
		t.Errorf("Attempt %d, want 2", m.Attempt)
	}
}

// TestLambdaDeadLetter: an item the function gives up on is written to
// the dead-letter topic, with its topic taken from the queue's when it
// names none.
func TestLambdaDeadLetter(t *testing.T) {
	t.Parallel()
	cfg := lambdaConfig(t)
	tr := open(t, cfg)
	topic := "task-executor:Hotel"
	dlq := subscribe(t, tr, core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "dlq"})
	in := sqs.Incoming{QueueName: cfg.QueueName(topic), MessageID: "m1", Body: "not an envelope",
		Attributes: map[string]string{"ApproximateReceiveCount": "4"}}
	if err := tr.DeadLetter(context.Background(), in, topic, "undecodable"); err != nil {
		t.Fatal(err)
	}
	env, err := core.DecodeEnvelope(receive(t, dlq).Body())
	if err != nil || env.Type != transport.DeadLetterType || env.DeadLetterReason != "undecodable" || env.DeadLetterAttempts != 4 {
		t.Errorf("entry %+v, %v", env, err)
	}
	if err := tr.DeadLetter(context.Background(), sqs.Incoming{Body: "x"}, "", "r"); err == nil {
		t.Error("dead-lettering a message of no topic succeeded")
	}
}

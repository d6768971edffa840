package sqs_test

import (
	"context"
	"errors"
	"fmt"
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

const waitTimeout = 10 * time.Second

func envelope(topic, id, key string) core.Envelope {
	return core.Envelope{ID: id, Source: "weft/sqs-test", SpecVersion: core.SpecVersion, Type: "weft.test.Message",
		Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), DataContentType: core.ContentTypeJSON,
		Data: []byte(`{"n":1}`), PartitionKey: key, Topic: topic}
}

func receive(t *testing.T, sub transport.Subscription) transport.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return d
}

func nothing(t *testing.T, sub transport.Subscription, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if d, err := sub.Receive(ctx); err == nil {
		t.Fatalf("unexpected delivery %s", d.Body())
	}
}

func subscribe(t *testing.T, tr *sqs.Transport, topic string, opts transport.SubscribeOptions) transport.Subscription {
	t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		t.Fatalf("Subscribe %s: %v", topic, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func queueURL(t *testing.T, c *awssqs.Client, name string) string {
	t.Helper()
	out, err := c.GetQueueUrl(context.Background(), &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetQueueUrl %s: %v", name, err)
	}
	return *out.QueueUrl
}

// counts returns the visible and the delayed messages of a queue.
func counts(t *testing.T, c *awssqs.Client, url string) (visible, delayed string) {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesDelayed"]
}

// TestWrongEndpoint: a server that is not there gives, in bounded time, an
// error naming the operation and the queue, without the credentials.
func TestWrongEndpoint(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"http://127.0.0.1:1", "http://10.255.255.1:9324"} {
		cfg := sqs.DefaultConfig()
		cfg.Endpoint, cfg.AccessKeyID, cfg.SecretAccessKey = ep, "AKIDEXAMPLE", "hunter2-secret"
		tr, err := sqs.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = tr.Check(ctx)
		_, serr := tr.Subscribe(ctx, "task-executor:Hotel", transport.SubscribeOptions{Group: "g"})
		perr := tr.Publish(ctx, envelope("task-executor:Hotel", "e1", ""))
		cancel()
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: the calls took %v", ep, took)
		}
		for what, e := range map[string]error{"Check": err, "Subscribe": serr, "Publish": perr} {
			if e == nil {
				t.Errorf("%s: %s succeeded", ep, what)
				continue
			}
			if strings.Contains(e.Error(), "hunter2") {
				t.Errorf("%s: %s error shows the secret: %v", ep, what, e)
			}
			if what != "Check" && !strings.Contains(e.Error(), "weft-task-executor_Hotel") {
				t.Errorf("%s: %s error does not name the queue: %v", ep, what, e)
			}
		}
		t.Logf("%s: %v", ep, serr)
		// Refused before anything is sent.
		big := envelope("task-executor:Hotel", "big", "")
		big.Data = []byte(`"` + strings.Repeat("x", cfg.MaxMessageSize) + `"`)
		if err := tr.Publish(context.Background(), big); !errors.Is(err, transport.ErrMessageTooLarge) {
			t.Errorf("oversized: %v, want ErrMessageTooLarge", err)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestCreateQueuesOff(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.CreateQueues = false
	tr := open(t, cfg)
	topic := "task-executor:Missing"
	_, err := tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: "g"})
	if err == nil || !strings.Contains(err.Error(), cfg.QueueName(topic)) || !strings.Contains(err.Error(), "createQueues") {
		t.Errorf("Subscribe to a missing queue: %v", err)
	}
	if err := tr.Publish(context.Background(), envelope(topic, "e", "")); err == nil || !strings.Contains(err.Error(), cfg.QueueName(topic)) {
		t.Errorf("Publish to a missing queue: %v", err)
	}
}

func TestKeyedNeedsFifo(t *testing.T) {
	t.Parallel()
	tr := open(t, testConfig(t))
	_, err := tr.Subscribe(context.Background(), "task-executor:Hotel", transport.SubscribeOptions{Group: "g", Keyed: true})
	if err == nil || !strings.Contains(err.Error(), "fifoPrefixes") {
		t.Errorf("keyed subscription to a standard queue: %v", err)
	}
	// Without FIFO prefixes nothing is ordered, and keyed means nothing.
	cfg := testConfig(t)
	cfg.FifoPrefixes = sqs.Prefixes{}
	subscribe(t, open(t, cfg), "workflow-engine:W", transport.SubscribeOptions{Group: "g", Keyed: true})
}

// TestGroupQueues: the first group reads the topic's queue, the second a
// queue of its own; both are tagged.
func TestGroupQueues(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	tr := open(t, cfg)
	c := rawClient(t)
	topic := "workflow-engine:TripBooking"
	a := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "state-engine", Keyed: true})
	b := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "audit"})
	for q, group := range map[string]string{cfg.QueueName(topic): "state-engine", cfg.GroupQueueName(topic, "audit"): "audit"} {
		tags, err := c.ListQueueTags(context.Background(), &awssqs.ListQueueTagsInput{QueueUrl: aws.String(queueURL(t, c, q))})
		if err != nil || tags.Tags[sqs.TagGroup] != group {
			t.Errorf("queue %s: tags %v, %v; want %s=%s", q, tags, err, sqs.TagGroup, group)
		}
		queueURL(t, c, sqs.RedriveQueueName(q))
	}
	// A transport that did not see the second group subscribe finds its
	// queue when it lists the topic's group queues.
	other := open(t, cfg)
	if err := other.Publish(context.Background(), envelope(topic, "e1", "trip-1")); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []transport.Subscription{a, b} {
		d := receive(t, sub)
		if d.Key() != "trip-1" || d.Topic() != topic {
			t.Errorf("key %q topic %q", d.Key(), d.Topic())
		}
		if err := d.Ack(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// A member of the first group on another transport reads the same queue.
	again := subscribe(t, other, topic, transport.SubscribeOptions{Group: "state-engine", Keyed: true})
	if err := tr.Publish(context.Background(), envelope(topic, "e2", "trip-2")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	got := make(chan transport.Delivery, 2)
	for _, s := range []transport.Subscription{a, again} {
		go func() {
			if d, err := s.Receive(ctx); err == nil {
				got <- d
			}
		}()
	}
	d := <-got
	_ = d.Ack(context.Background())
	cancel()
}

// TestPoison: a message received more often than MaxAttempts without being
// settled, and one whose body does not decode, go to the dead-letter topic
// with a reason.
func TestPoison(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	tr := open(t, cfg)
	c := rawClient(t)
	topic := "task-executor:Poison"
	dlq := subscribe(t, tr, core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "dlq"})
	// Create the queue, owned by group g, then work on it behind the
	// transport's back.
	sub := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g", MaxAttempts: 2})
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	url := queueURL(t, c, cfg.QueueName(topic))
	if err := tr.Publish(context.Background(), envelope(topic, "crasher", "k")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // two consumers that died holding it
		out, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 2})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("raw receive: %v %v", out, err)
		}
		if _, err := c.ChangeMessageVisibility(context.Background(), &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("%%%"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			sqs.AttrTopic: {DataType: aws.String("String"), StringValue: aws.String(topic)},
			sqs.AttrRaw:   {DataType: aws.String("String"), StringValue: aws.String("base64")},
		}}); err != nil {
		t.Fatal(err)
	}
	sub = subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g", MaxAttempts: 2})
	go func() { _, _ = sub.Receive(context.Background()) }() // demand: the poller receives
	reasons := map[string]string{}
	for range 2 {
		d := receive(t, dlq)
		env, err := core.DecodeEnvelope(d.Body())
		if err != nil {
			t.Fatalf("dead-letter entry: %v", err)
		}
		reasons[env.ID] = env.DeadLetterReason
		if env.ID == "crasher" && env.DeadLetterAttempts != 3 {
			t.Errorf("attempts %d, want 3", env.DeadLetterAttempts)
		}
		if env.ID != "crasher" && env.Type != transport.DeadLetterType {
			t.Errorf("entry %+v", env)
		}
		_ = d.Ack(context.Background())
	}
	for id, r := range reasons {
		want := "base64"
		if id == "crasher" {
			want = "received 3 times"
		}
		if !strings.Contains(r, want) {
			t.Errorf("%s: reason %q, want it to say %q", id, r, want)
		}
	}
	if v, _ := counts(t, c, url); v != "0" {
		t.Errorf("%s messages left in the queue", v)
	}
}

// TestHeartbeat: a delivery handled for longer than the visibility
// timeout is not handed to another member.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.VisibilityTimeout = 2 * time.Second
	tr := open(t, cfg)
	topic := "task-executor:Slow"
	a := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g"})
	b := subscribe(t, open(t, cfg), topic, transport.SubscribeOptions{Group: "g"})
	if err := tr.Publish(context.Background(), envelope(topic, "slow", "")); err != nil {
		t.Fatal(err)
	}
	d := receive(t, a)
	nothing(t, b, 5*time.Second)
	if err := d.Ack(context.Background()); err != nil {
		t.Fatalf("Ack after 5s: %v", err)
	}
	nothing(t, b, 3*time.Second)
}

// TestStaleReceipt: a settlement SQS refuses for a receipt handle that no
// longer holds wraps transport.ErrRedelivered.
func TestStaleReceipt(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	tr := open(t, cfg)
	c := rawClient(t)
	topic := "task-executor:Stale"
	sub := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g"})
	if err := tr.Publish(context.Background(), envelope(topic, "e", "")); err != nil {
		t.Fatal(err)
	}
	d := receive(t, sub)
	if _, err := c.PurgeQueue(context.Background(), &awssqs.PurgeQueueInput{QueueUrl: aws.String(queueURL(t, c, cfg.QueueName(topic)))}); err != nil {
		t.Fatal(err)
	}
	// ElasticMQ refuses a deleted message's handle; AWS would take it.
	if err := d.Ack(context.Background()); err != nil && !errors.Is(err, transport.ErrRedelivered) {
		t.Errorf("Ack of a purged message: %v, want nil or ErrRedelivered", err)
	} else {
		t.Logf("Ack of a purged message: %v", err)
	}
	if err := tr.RetryAfter(context.Background(), cfg.QueueName(topic), "no-such-handle", time.Second); !errors.Is(err, transport.ErrRedelivered) {
		t.Errorf("RetryAfter with a stale handle: %v, want ErrRedelivered", err)
	}
}

// TestIdleBufferGivenBack: what a member received and nobody asked it for
// goes back to SQS for the other members.
func TestIdleBufferGivenBack(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.VisibilityTimeout = 2 * time.Second
	tr := open(t, cfg)
	topic := "task-executor:Hoard"
	a := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g"})
	var batch []core.Envelope
	for i := range 5 {
		batch = append(batch, envelope(topic, fmt.Sprint("m", i), ""))
	}
	if err := tr.Publish(context.Background(), batch...); err != nil {
		t.Fatal(err)
	}
	first := receive(t, a) // its poller may hold the other four
	b := subscribe(t, open(t, cfg), topic, transport.SubscribeOptions{Group: "g"})
	seen := map[string]bool{}
	for range 4 {
		d := receive(t, b)
		seen[string(d.Body())] = true
		if err := d.Ack(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Ack(context.Background()); err != nil {
		t.Fatalf("Ack of the first after %d others: %v", len(seen), err)
	}
	nothing(t, b, 500*time.Millisecond)
}

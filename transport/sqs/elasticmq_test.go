package sqs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestElasticMQ checks the behaviours of the test server the transport
// relies on, as the AWS documentation describes them, and pins the
// differences the package documentation lists (the server is pinned to
// one version by scripts/elasticmq.sh).
func TestElasticMQ(t *testing.T) {
	t.Parallel()
	c := rawClient(t)
	cfg := testConfig(t) // for its prefix and the cleanup
	ctx := context.Background()
	create := func(t *testing.T, name string, attrs map[string]string) string {
		t.Helper()
		out, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(cfg.QueuePrefix + name), Attributes: attrs})
		if err != nil {
			t.Fatalf("CreateQueue %s: %v", name, err)
		}
		return *out.QueueUrl
	}
	fifoAttrs := map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "false"}
	send := func(t *testing.T, url, body, group string) {
		t.Helper()
		in := &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}
		if group != "" {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String(group), aws.String(body)
		}
		if _, err := c.SendMessage(ctx, in); err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
	}
	recv := func(t *testing.T, url string, wait, max int32) []types.Message {
		t.Helper()
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: wait, MaxNumberOfMessages: max,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		return out.Messages
	}
	visibility := func(t *testing.T, url string, m types.Message, secs int32) {
		t.Helper()
		if _, err := c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: secs}); err != nil {
			t.Fatalf("ChangeMessageVisibility: %v", err)
		}
	}
	bodies := func(ms []types.Message) string {
		var b []string
		for _, m := range ms {
			b = append(b, *m.Body)
		}
		return strings.Join(b, ",")
	}

	t.Run("PerMessageDelay", func(t *testing.T) {
		t.Parallel()
		url := create(t, "delay", nil)
		start := time.Now()
		if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("d"), DelaySeconds: 1}); err != nil {
			t.Fatal(err)
		}
		if ms := recv(t, url, 5, 1); len(ms) != 1 || time.Since(start) < time.Second {
			t.Errorf("got %d after %v, want 1 after 1s", len(ms), time.Since(start))
		}
		fifo := create(t, "delay.fifo", fifoAttrs)
		_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(fifo), MessageBody: aws.String("d"), DelaySeconds: 1,
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
		if err == nil {
			t.Error("a per-message delay on a FIFO queue was taken")
		}
	})

	t.Run("FifoGroupBlocking", func(t *testing.T) {
		t.Parallel()
		url := create(t, "groups.fifo", fifoAttrs)
		for _, b := range []string{"a1", "a2", "a3"} {
			send(t, url, b, "A")
		}
		send(t, url, "b1", "B")
		first := recv(t, url, 1, 1)
		if bodies(first) != "a1" {
			t.Fatalf("first receive %q, want a1", bodies(first))
		}
		if got := bodies(recv(t, url, 0, 10)); got != "b1" {
			t.Errorf("with a1 hidden: %q, want only b1", got)
		}
		visibility(t, url, first[0], 0)
		batch := recv(t, url, 1, 10)
		if bodies(batch) != "a1,a2,a3" || batch[0].Attributes["ApproximateReceiveCount"] != "2" {
			t.Fatalf("after a1 was made visible: %q", bodies(batch))
		}
		// Giving back the later ones while the first stays hidden
		// releases nothing of the group.
		visibility(t, url, batch[1], 0)
		visibility(t, url, batch[2], 0)
		if got := recv(t, url, 0, 10); len(got) != 0 {
			t.Errorf("with a1 hidden, a2 and a3 given back: %q", bodies(got))
		}
		if _, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: batch[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		if got := bodies(recv(t, url, 1, 10)); got != "a2,a3" {
			t.Errorf("after a1 was deleted: %q, want a2,a3", got)
		}
		// Deduplication by id.
		send(t, url, "a1", "C")
		if got := recv(t, url, 0, 10); len(got) != 0 {
			t.Errorf("a repeated deduplication id was delivered: %q", bodies(got))
		}
	})

	t.Run("VisibilityWakesLongPoll", func(t *testing.T) {
		t.Parallel()
		url := create(t, "wake", nil)
		send(t, url, "m", "")
		m := recv(t, url, 1, 1)
		if len(m) != 1 {
			t.Fatal("nothing received")
		}
		done := make(chan time.Duration, 1)
		go func() {
			start := time.Now()
			if ms := recv(t, url, 10, 1); len(ms) == 1 {
				done <- time.Since(start)
			}
			close(done)
		}()
		time.Sleep(200 * time.Millisecond)
		visibility(t, url, m[0], 0)
		if took, ok := <-done; !ok || took > 2*time.Second {
			t.Errorf("a long poll got the message made visible after %v (%v)", took, ok)
		}
	})

	t.Run("Tags", func(t *testing.T) {
		t.Parallel()
		url := create(t, "tags", nil)
		if _, err := c.TagQueue(ctx, &awssqs.TagQueueInput{QueueUrl: aws.String(url), Tags: map[string]string{"weft-group": "g1"}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.ListQueueTags(ctx, &awssqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
		if err != nil || out.Tags["weft-group"] != "g1" {
			t.Errorf("tags %v, %v", out, err)
		}
	})

	t.Run("Redrive", func(t *testing.T) {
		t.Parallel()
		dlq := create(t, "rd-redrive", nil)
		arn, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		url := create(t, "rd", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`,
			arn.Attributes["QueueArn"])})
		send(t, url, "r", "")
		for i := range 2 {
			ms := recv(t, url, 1, 1)
			if len(ms) != 1 {
				t.Fatalf("receive %d: nothing", i+1)
			}
			visibility(t, url, ms[0], 0)
		}
		if ms := recv(t, url, 0, 1); len(ms) != 0 {
			t.Error("received a third time")
		}
		if ms := recv(t, dlq, 1, 1); len(ms) != 1 {
			t.Error("not in the redrive queue")
		}
	})

	// The differences from AWS the package documentation lists.
	t.Run("AttributesNotCounted", func(t *testing.T) {
		t.Parallel()
		url := create(t, "size", nil)
		body := strings.Repeat("x", 256<<10-10)
		_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body),
			MessageAttributes: map[string]types.MessageAttributeValue{"weft-topic": {DataType: aws.String("String"), StringValue: aws.String(strings.Repeat("t", 50))}}})
		if err != nil {
			t.Errorf("ElasticMQ now counts message attributes (update the package doc): %v", err)
		}
		if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body + strings.Repeat("x", 11))}); err == nil {
			t.Error("a body over 256 KiB was taken")
		}
	})

	t.Run("StaleReceiptRefused", func(t *testing.T) {
		t.Parallel()
		url := create(t, "stale", nil)
		send(t, url, "m", "")
		m := recv(t, url, 1, 1)
		for i := range 2 {
			_, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m[0].ReceiptHandle})
			if i == 0 && err != nil {
				t.Fatal(err)
			}
			if i == 1 && err == nil {
				t.Error("ElasticMQ now takes a deleted message's receipt handle, as AWS does (update the package doc)")
			}
		}
	})

	t.Run("AbandonedLongPollTakesMessages", func(t *testing.T) {
		t.Parallel()
		url := create(t, "abandoned", nil)
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = c.ReceiveMessage(pctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 2})
		}()
		time.Sleep(200 * time.Millisecond)
		cancel()
		<-done
		send(t, url, "m", "")
		if ms := recv(t, url, 1, 1); len(ms) != 0 {
			t.Log("ElasticMQ no longer hands messages to an abandoned long poll (the package doc may say so)")
		}
	})
}

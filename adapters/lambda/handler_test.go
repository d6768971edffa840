package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weftio/weft/adapters/lambda"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
)

const (
	topicA = "weftlambda:a"       // unordered
	topicK = "weftlambda-keyed:k" // keyed
)

// fn is a function whose behaviour per envelope id is set by its data:
// {"fail": "retry"|"permanent"|"panic", "sleep": ms}.
type fn struct {
	mu      sync.Mutex
	handled []string // ids, in the order handled
	cut     []string // ids whose context ended while handling them
}

func (f *fn) Name() string { return "test" }
func (f *fn) Subscriptions() []functions.Subscription {
	return []functions.Subscription{{Topic: topicA}, {Topic: topicK, Keyed: true}}
}

func (f *fn) Handle(ctx context.Context, in core.Envelope) (functions.Result, error) {
	var d struct {
		Fail  string `json:"fail"`
		Sleep int    `json:"sleep"`
	}
	_ = json.Unmarshal(in.Data, &d)
	if d.Sleep > 0 {
		select {
		case <-time.After(time.Duration(d.Sleep) * time.Millisecond):
		case <-ctx.Done():
			f.mu.Lock()
			f.cut = append(f.cut, in.ID)
			f.mu.Unlock()
			return functions.Result{}, ctx.Err()
		}
	}
	switch d.Fail {
	case "retry":
		return functions.Result{}, errors.New("storage hiccup")
	case "permanent":
		return functions.Result{}, functions.Permanent("unknown workflow", errors.New("nope"))
	case "panic":
		panic("boom")
	}
	f.mu.Lock()
	f.handled = append(f.handled, in.ID)
	f.mu.Unlock()
	out := core.Envelope{ID: "out-" + in.ID, Source: "test", SpecVersion: core.SpecVersion, Type: "weft.test.Out", Time: in.Time,
		DataContentType: core.ContentTypeJSON, Data: []byte(`{}`), Topic: "weftlambda-out:x"}
	return functions.Result{Outputs: []core.Envelope{out}}, nil
}

func (f *fn) got() (handled, cut []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.handled...), append([]string(nil), f.cut...)
}

// queues is a fake of the SQS transport's side of the handler.
type queues struct {
	mu       sync.Mutex
	retries  map[string]time.Duration // receipt handle -> delay
	forwards []string
}

func (q *queues) Decode(r lambda.Record) (lambda.Message, error) {
	if r.MessageAttributes["delayed"] == "1" {
		return lambda.Message{Delayed: true}, nil
	}
	if r.MessageAttributes["weft-topic"] == "" {
		return lambda.Message{}, errors.New("no weft-topic attribute")
	}
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	return lambda.Message{Topic: r.MessageAttributes["weft-topic"], Key: r.MessageAttributes["weft-key"], Body: []byte(r.Body), Attempt: max(n, 1)}, nil
}

func (q *queues) Forward(_ context.Context, r lambda.Record) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forwards = append(q.forwards, r.MessageID)
	return nil
}

func (q *queues) RetryAfter(_ context.Context, queue, receipt string, after time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.retries == nil {
		q.retries = map[string]time.Duration{}
	}
	q.retries[receipt] = after
	return nil
}

type rig struct {
	t  *testing.T
	h  *lambda.Handler
	fn *fn
	q  *queues
	tr *memory.Transport
}

func newRig(t *testing.T, mod func(*lambda.Config)) *rig {
	t.Helper()
	r := &rig{t: t, fn: &fn{}, q: &queues{}, tr: memory.New()}
	t.Cleanup(func() { _ = r.tr.Close() })
	cfg := lambda.Config{Functions: []functions.Function{r.fn}, Transport: r.tr, Queues: r.q, MaxAttempts: 5,
		Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second }}
	if mod != nil {
		mod(&cfg)
	}
	h, err := lambda.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	return r
}

// watch subscribes to a topic before anything is published to it.
func (r *rig) watch(topic string) transport.Subscription {
	r.t.Helper()
	sub, err := r.tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: "watch"})
	if err != nil {
		r.t.Fatal(err)
	}
	return sub
}

// next receives one envelope from sub.
func (r *rig) next(sub transport.Subscription) core.Envelope {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		r.t.Fatalf("nothing received: %v", err)
	}
	_ = d.Ack(ctx)
	env, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		r.t.Fatal(err)
	}
	return env
}

func envelope(t *testing.T, topic, id, key, data string) string {
	t.Helper()
	b, err := core.EncodeEnvelope(core.Envelope{ID: id, Source: "test", SpecVersion: core.SpecVersion, Type: "weft.test.In",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DataContentType: core.ContentTypeJSON, Data: []byte(data), Topic: topic, PartitionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// msg is one SQS record of a test event.
type msg struct {
	id, topic, key, group, data, body string
	receives                          int
	attrs                             map[string]string
}

func sqsEvent(t *testing.T, queue string, msgs ...msg) []byte {
	t.Helper()
	var ev events.SQSEvent
	for _, m := range msgs {
		body := m.body
		if body == "" {
			data := m.data
			if data == "" {
				data = `{}`
			}
			body = envelope(t, m.topic, m.id, m.key, data)
		}
		attrs := map[string]events.SQSMessageAttribute{}
		str := func(k, v string) {
			attrs[k] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
		}
		if m.topic != "" {
			str("weft-topic", m.topic)
		}
		if m.key != "" {
			str("weft-key", m.key)
		}
		for k, v := range m.attrs {
			str(k, v)
		}
		sys := map[string]string{"ApproximateReceiveCount": strconv.Itoa(max(m.receives, 1))}
		if m.group != "" {
			sys["MessageGroupId"] = m.group
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: m.id, ReceiptHandle: "rh-" + m.id, Body: body, Attributes: sys,
			MessageAttributes: attrs, EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:" + queue, AWSRegion: "eu-west-1"})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func failures(t *testing.T, out []byte) []string {
	t.Helper()
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	if resp.BatchItemFailures == nil {
		t.Fatalf("response %s has no batchItemFailures list", out)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestSQSPartialBatch: one retryable failure is the only item reported;
// a permanent failure, a panic-free poison and an undecodable message are
// dead-lettered with their reasons and reported as handled; the outputs
// of the others are published before the handler returns.
func TestSQSPartialBatch(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	out := r.watch("weftlambda-out:x")
	dlq := r.watch(core.DeadLetterTopic(topicA))
	sqsDLQ := r.watch(core.DeadLetterTopic("sqs:weft-q"))
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "weft-q",
		msg{id: "m1", topic: topicA},
		msg{id: "m2", topic: topicA, data: `{"fail":"retry"}`, receives: 2},
		msg{id: "m3", topic: topicA, data: `{"fail":"permanent"}`},
		msg{id: "m4", body: "not json at all"},
		msg{id: "m5", topic: topicA},
		msg{id: "m6", topic: topicA, data: `{"fail":"panic"}`},
	))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); strings.Join(got, ",") != "m2,m6" {
		t.Errorf("batchItemFailures = %v, want m2,m6", got)
	}
	if handled, _ := r.fn.got(); len(handled) != 2 {
		t.Errorf("handled %v, want m1 and m5", handled)
	}
	seen := map[string]bool{}
	for range 2 {
		seen[r.next(out).ID] = true
	}
	if !seen["out-m1"] || !seen["out-m5"] {
		t.Errorf("outputs %v, want out-m1 and out-m5", seen)
	}
	if e := r.next(dlq); e.ID != "m3" || !strings.Contains(e.DeadLetterReason, "unknown workflow") {
		t.Errorf("dead letter %s with reason %q, want m3 with its reason", e.ID, e.DeadLetterReason)
	}
	if e := r.next(sqsDLQ); !strings.Contains(e.DeadLetterReason, "undecodable SQS message") || e.Type != transport.DeadLetterType {
		t.Errorf("undecodable message's dead letter: %+v", e)
	}
	r.q.mu.Lock()
	defer r.q.mu.Unlock()
	if r.q.retries["rh-m2"] != 2*time.Second || r.q.retries["rh-m6"] != time.Second || len(r.q.retries) != 2 {
		t.Errorf("backoffs set %v, want rh-m2 after 2s (2nd receive), rh-m6 after 1s", r.q.retries)
	}
}

// TestSQSFifoGroupOrder: a FIFO group stops at its first failure, which is
// reported with every later message of the group; other groups go on.
func TestSQSFifoGroupOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "weft-k.fifo",
		msg{id: "a1", topic: topicK, key: "A", group: "A", data: `{"sleep":5}`},
		msg{id: "b1", topic: topicK, key: "B", group: "B"},
		msg{id: "a2", topic: topicK, key: "A", group: "A", data: `{"fail":"retry"}`},
		msg{id: "b2", topic: topicK, key: "B", group: "B", data: `{"sleep":5}`},
		msg{id: "a3", topic: topicK, key: "A", group: "A"},
		msg{id: "b3", topic: topicK, key: "B", group: "B"},
	))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); strings.Join(got, ",") != "a2,a3" {
		t.Errorf("batchItemFailures = %v, want a2,a3", got)
	}
	handled, _ := r.fn.got()
	var as, bs []string
	for _, id := range handled {
		if id[0] == 'a' {
			as = append(as, id)
		} else {
			bs = append(bs, id)
		}
	}
	if strings.Join(as, ",") != "a1" || strings.Join(bs, ",") != "b1,b2,b3" {
		t.Errorf("handled %v: group A %v (want a1), group B %v (want b1,b2,b3 in order)", handled, as, bs)
	}
	r.q.mu.Lock()
	defer r.q.mu.Unlock()
	if d, ok := r.q.retries["rh-a3"]; !ok || d != 0 {
		t.Errorf("a3 (not started) made visible after %v (set %v), want at once", d, ok)
	}
}

// TestSQSKeyedOnStandardQueue: on a standard queue the messages of one
// key of a keyed topic are still handled one after the other.
func TestSQSKeyedOnStandardQueue(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	var ms []msg
	for i := range 6 {
		ms = append(ms, msg{id: fmt.Sprintf("k%d", i), topic: topicK, key: "K", data: `{"sleep":3}`})
	}
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "weft-k", ms...))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Errorf("failures %v", got)
	}
	if handled, _ := r.fn.got(); strings.Join(handled, ",") != "k0,k1,k2,k3,k4,k5" {
		t.Errorf("handled %v, want the key's messages in order", handled)
	}
}

// TestSQSMaxAttempts: a message failing at its MaxAttempts-th receive is
// dead-lettered with the cause and reported as handled (not retried
// forever).
func TestSQSMaxAttempts(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	dlq := r.watch(core.DeadLetterTopic(topicA))
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "weft-q", msg{id: "m1", topic: topicA, data: `{"fail":"retry"}`, receives: 5}))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Errorf("failures %v, want none", got)
	}
	if e := r.next(dlq); e.ID != "m1" || !strings.Contains(e.DeadLetterReason, "failed 5 times: storage hiccup") || e.DeadLetterAttempts != 5 {
		t.Errorf("dead letter %s %q attempts %d", e.ID, e.DeadLetterReason, e.DeadLetterAttempts)
	}
}

// TestSQSDeadline: a batch that cannot finish before the deadline leaves
// what it did not start unacked: every message is either handled in full
// or reported failed, none is cut off half-way, and none is lost.
func TestSQSDeadline(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *lambda.Config) { c.Margin = 300 * time.Millisecond })
	var ms []msg
	for i := range 10 {
		ms = append(ms, msg{id: fmt.Sprintf("m%d", i), topic: topicK, key: "K", group: "K", data: `{"sleep":100}`})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := r.h.Invoke(ctx, sqsEvent(t, "weft-k.fifo", ms...))
	if err != nil {
		t.Fatal(err)
	}
	failed := failures(t, resp)
	handled, cut := r.fn.got()
	if len(cut) != 0 {
		t.Errorf("handlers cut off by the deadline: %v", cut)
	}
	if len(failed) == 0 || len(handled)+len(failed) != 10 {
		t.Fatalf("handled %v, failed %v: want every message in one of the two, and some failed (10 × 100 ms do not fit in the 0.8 s before the margin)", handled, failed)
	}
	for i, id := range append(handled, failed...) {
		if id != fmt.Sprintf("m%d", i) {
			t.Fatalf("handled %v then failed %v: want a prefix handled in order, the rest failed", handled, failed)
		}
	}
}

// TestSQSDelayedAreForwarded: messages of the delay queue go to the
// transport's Forward.
func TestSQSDelayedAreForwarded(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "weft-delay", msg{id: "d1", body: "{}", attrs: map[string]string{"delayed": "1"}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Errorf("failures %v", got)
	}
	if strings.Join(r.q.forwards, ",") != "d1" {
		t.Errorf("forwarded %v", r.q.forwards)
	}
}

// TestSQSWithoutQueues: without the SQS transport, bodies are envelopes
// and the topic is the envelope's.
func TestSQSWithoutQueues(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *lambda.Config) { c.Queues = nil })
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "user-queue", msg{id: "m1", body: envelope(t, topicA, "m1", "", `{}`)}))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Errorf("failures %v", got)
	}
	if handled, _ := r.fn.got(); strings.Join(handled, ",") != "m1" {
		t.Errorf("handled %v", handled)
	}
}

// TestUnknownTopicIsDeadLettered: an envelope for a topic no function of
// the process consumes is dead-lettered with the reason.
func TestUnknownTopicIsDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	dlq := r.watch(core.DeadLetterTopic("weftlambda:other"))
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "weft-q", msg{id: "m1", topic: "weftlambda:other"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Errorf("failures %v", got)
	}
	if e := r.next(dlq); !strings.Contains(e.DeadLetterReason, "no function of this Lambda function consumes weftlambda:other") {
		t.Errorf("reason %q", e.DeadLetterReason)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestKafka: records of a partition in offset order; a failure fails the
// invocation (the mapping delivers the batch again) while the other
// partition completes; a poison record is dead-lettered and skipped.
func TestKafka(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	dlq := r.watch(core.DeadLetterTopic(topicA))
	rec := func(off int64, id, data string) events.KafkaRecord {
		return events.KafkaRecord{Topic: "weft", Partition: 0, Offset: off, Key: b64("K"), Value: b64(envelope(t, topicA, id, "", data)),
			Headers: []map[string]events.JSONNumberBytes{{"weft-topic": events.JSONNumberBytes(topicA)}}}
	}
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{
		"weft-0": {rec(2, "p0-2", `{}`), rec(1, "p0-1", `{"sleep":5}`), rec(3, "p0-3", `{"fail":"permanent"}`), rec(4, "p0-4", `{}`)},
		"weft-1": {rec(1, "p1-1", `{}`), rec(2, "p1-2", `{"fail":"retry"}`), rec(3, "p1-3", `{}`)},
	}}
	payload, _ := json.Marshal(ev)
	_, err := r.h.Invoke(context.Background(), payload)
	if err == nil || !strings.Contains(err.Error(), "storage hiccup") {
		t.Fatalf("Invoke: %v, want the retryable failure", err)
	}
	handled, _ := r.fn.got()
	var p0, p1 []string
	for _, id := range handled {
		if strings.HasPrefix(id, "p0") {
			p0 = append(p0, id)
		} else {
			p1 = append(p1, id)
		}
	}
	if strings.Join(p0, ",") != "p0-1,p0-2,p0-4" || strings.Join(p1, ",") != "p1-1" {
		t.Errorf("partition 0 handled %v (want p0-1,p0-2,p0-4), partition 1 %v (want p1-1)", p0, p1)
	}
	if e := r.next(dlq); e.ID != "p0-3" {
		t.Errorf("dead letter %s", e.ID)
	}
}

// TestAmazonMQ: RabbitMQ and ActiveMQ messages carry base64 envelopes;
// bad base64 is dead-lettered with the reason.
func TestAmazonMQ(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	dlq := r.watch(core.DeadLetterTopic(topicA))
	rmq, _ := json.Marshal(events.RabbitMQEvent{EventSource: "aws:rmq", MessagesByQueue: map[string][]events.RabbitMQMessage{
		"weft::/": {
			{Data: b64(envelope(t, topicA, "r1", "", `{}`))},
			{Data: "%%%", BasicProperties: events.RabbitMQBasicProperties{Headers: map[string]any{"weft-topic": topicA}}},
			{Data: b64(envelope(t, topicA, "r2", "", `{}`))},
		}}})
	out, err := r.h.Invoke(context.Background(), rmq)
	if err != nil || string(out) != `{"handled":3}` {
		t.Fatalf("RabbitMQ: %s, %v", out, err)
	}
	if e := r.next(dlq); !strings.Contains(e.DeadLetterReason, "not base64") {
		t.Errorf("reason %q", e.DeadLetterReason)
	}
	amq, _ := json.Marshal(events.ActiveMQEvent{EventSource: "aws:mq", Messages: []events.ActiveMQMessage{{MessageID: "x", Data: b64(envelope(t, topicA, "q1", "", `{}`))}}})
	if out, err := r.h.Invoke(context.Background(), amq); err != nil || string(out) != `{"handled":1}` {
		t.Fatalf("ActiveMQ: %s, %v", out, err)
	}
	if handled, _ := r.fn.got(); strings.Join(handled, ",") != "r1,r2,q1" {
		t.Errorf("handled %v", handled)
	}
}

// checker accepts the workflow "Order".
type checker struct{}

func (checker) HasWorkflow(w string) bool                                { return w == "Order" }
func (checker) CheckWorkflowInput(string, string, json.RawMessage) error { return nil }

// TestCloudEvent: a directly invoked weft envelope is handled; a user's
// event is mapped by the triggers and published; an event no trigger maps
// is dead-lettered and answered with the reason; a retryable failure is
// the invocation's error.
func TestCloudEvent(t *testing.T) {
	t.Parallel()
	m, err := triggers.Compile([]config.Trigger{{Type: "order.created", Action: "dispatch", Workflow: "Order", Method: "Run", Input: "$"}}, checker{}, "weft/test")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(c *lambda.Config) { c.Triggers = m })
	out, err := r.h.Invoke(context.Background(), []byte(envelope(t, topicA, "e1", "", `{}`)))
	if err != nil || string(out) != `{"status":"handled"}` {
		t.Fatalf("envelope: %s, %v", out, err)
	}
	if _, err := r.h.Invoke(context.Background(), []byte(envelope(t, topicA, "e2", "", `{"fail":"retry"}`))); err == nil {
		t.Error("a retryable failure answered no error")
	}
	out, err = r.h.Invoke(context.Background(), []byte(envelope(t, topicA, "e3", "", `{"fail":"permanent"}`)))
	if err != nil || !strings.Contains(string(out), `"status":"dead-lettered"`) || !strings.Contains(string(out), "unknown workflow") {
		t.Fatalf("permanent: %s, %v", out, err)
	}
	cmds := r.watch(core.Topic(core.PrefixWorkflowCmd, "Order"))
	out, err = r.h.Invoke(context.Background(), []byte(`{"specversion":"1.0","id":"o-1","source":"shop","type":"order.created","datacontenttype":"application/json","data":{"n":1}}`))
	if err != nil || !strings.Contains(string(out), `"status":"published"`) {
		t.Fatalf("trigger: %s, %v", out, err)
	}
	if e := r.next(cmds); e.Topic != core.Topic(core.PrefixWorkflowCmd, "Order") {
		t.Errorf("command on %s", e.Topic)
	}
	refused := r.watch(triggers.DeadLetterTopic("order.deleted"))
	out, err = r.h.Invoke(context.Background(), []byte(`{"specversion":"1.0","id":"o-2","source":"shop","type":"order.deleted"}`))
	if err != nil || !strings.Contains(string(out), "dead-lettered") {
		t.Fatalf("unmapped: %s, %v", out, err)
	}
	if e := r.next(refused); !strings.Contains(e.DeadLetterReason, "order.deleted") {
		t.Errorf("reason %q", e.DeadLetterReason)
	}
}

// TestBadPayloads: what is no event is refused with an error naming why.
func TestBadPayloads(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *lambda.Config) { c.MaxPayload = 1 << 10 })
	if out, err := r.h.Invoke(context.Background(), []byte(`{"Records":[]}`)); err != nil || string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("an event without records: %s, %v", out, err)
	}
	for payload, want := range map[string]string{
		`[1,2]`:                                   "no JSON object",
		`{"hello":"world"}`:                       "no SQS, Kafka or Amazon MQ event and no CloudEvent",
		`{"Records":[{"eventSource":"aws:s3"}]}`:  `event source "aws:s3"`,
		`{"eventSource":"aws:kinesis"}`:           `source "aws:kinesis"`,
		`{"` + strings.Repeat("x", 2000) + `":1}`: "over the 1024 byte limit",
	} {
		if _, err := r.h.Invoke(context.Background(), []byte(payload)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40s: %v, want %q", payload, err, want)
		}
	}
}

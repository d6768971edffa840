package pulsar

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/transporttest"
)

// testTenant holds every test namespace; each test gets its own namespace,
// deleted (with its topics) when the test ends.
const testTenant = "weft-test"

// brokerConfig returns a Config for the test broker (see
// scripts/pulsar.sh) in a fresh namespace, or skips the test when the
// broker's URLs are not set.
func brokerConfig(t testing.TB) Config {
	t.Helper()
	cfg := Config{
		URL:       testenv.URL(t, testenv.PulsarURL),
		AdminURL:  testenv.URL(t, testenv.PulsarAdminURL),
		Tenant:    testTenant,
		Namespace: "t-" + testenv.Suffix(),
		Logger:    testLogger(t),
	}
	a, err := newAdmin(cfg.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.deleteNamespace(ctx, cfg.Tenant, cfg.Namespace); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return cfg
}

// open returns a transport on cfg, closed when the test ends.
func open(t testing.TB, cfg Config) *Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	cfg := brokerConfig(t)
	transporttest.Run(t, func(t *testing.T) transport.Transport {
		c := cfg
		c.Logger = testLogger(t)
		return open(t, c)
	})
}

// testLogger sends warnings and errors to t.Log until the test ends (the
// client may still log while it shuts down).
func testLogger(t testing.TB) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(w.stop) // registered first, so it runs last
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

func testEnv(topic, id, key string) core.Envelope {
	return core.Envelope{
		ID: id, Source: "weft/pulsar-test", Type: "weft.test.Message", Time: time.Now().UTC(),
		Data: []byte(fmt.Sprintf(`{"id":%q}`, id)), PartitionKey: key, Topic: topic,
	}
}

func receive(t *testing.T, sub transport.Subscription) transport.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return d
}

func idOf(t *testing.T, d transport.Delivery) string {
	t.Helper()
	env, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		t.Fatalf("decode %q: %v", d.Body(), err)
	}
	return env.ID
}

func subscribe(t testing.TB, tr transport.Transport, topic string, opts transport.SubscribeOptions) transport.Subscription {
	t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// rawConsumer reads a mapped topic with the plain client, to see what the
// broker holds rather than what the transport makes of it.
func rawConsumer(t *testing.T, tr *Transport, topic string) pulsar.Consumer {
	t.Helper()
	c, err := tr.client.Subscribe(pulsar.ConsumerOptions{
		Topic: tr.TopicName(topic), SubscriptionName: "raw", Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatalf("raw subscribe to %s: %v", tr.TopicName(topic), err)
	}
	t.Cleanup(c.Close)
	return c
}

func rawReceive(t *testing.T, c pulsar.Consumer) pulsar.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("raw Receive: %v", err)
	}
	if err := c.Ack(m); err != nil {
		t.Fatalf("raw Ack: %v", err)
	}
	return m
}

func TestNewCreatesNamespace(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	tr := open(t, cfg)
	code, body, err := tr.admin.do(context.Background(), "GET", "/admin/v2/namespaces/"+cfg.Tenant, nil)
	if err != nil || code != 200 {
		t.Fatalf("list namespaces: %d %s %v", code, body, err)
	}
	if !strings.Contains(body, `"`+cfg.Tenant+"/"+cfg.Namespace+`"`) {
		t.Errorf("namespace %s/%s missing from %s", cfg.Tenant, cfg.Namespace, body)
	}
}

func TestTopicMappingOnBroker(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	tr := open(t, cfg)
	topic := "workflow-cmd:Trip/é-partition-1"
	raw := rawConsumer(t, tr, topic)
	if err := tr.Publish(context.Background(), testEnv(topic, "mapped", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	m := rawReceive(t, raw)
	want := "persistent://" + cfg.Tenant + "/" + cfg.Namespace + "/workflow-cmd:Trip=2F=C3=A9=2Dpartition-1"
	if m.Topic() != want || tr.TopicName(topic) != want {
		t.Errorf("message on %q (TopicName %q), want %q", m.Topic(), tr.TopicName(topic), want)
	}
	if m.Key() != "k" {
		t.Errorf("message key %q, want the partition key k", m.Key())
	}
}

// TestDelayedDeliveryBroker checks the delay is the broker's (deliverAt),
// not only the member's hold.
func TestDelayedDeliveryBroker(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "delay:broker"
	raw := rawConsumer(t, tr, topic)
	early := brokerDelayTolerance(t, tr)
	at := time.Now().Add(500*time.Millisecond + early)
	e := testEnv(topic, "later", "k")
	e.SetDeliverAt(at)
	if err := tr.Publish(context.Background(), e, testEnv(topic, "now", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	first := rawReceive(t, raw)
	if id := decodeID(t, first.Payload()); id != "now" {
		t.Fatalf("the broker dispatched %s first, want now", id)
	}
	second := rawReceive(t, raw)
	arrived := time.Now()
	if id := decodeID(t, second.Payload()); id != "later" {
		t.Fatalf("got %s, want later", id)
	}
	if arrived.Before(at.Add(-early)) {
		t.Errorf("the broker dispatched the delayed message %v before its instant (tolerance %v)", at.Sub(arrived), early)
	}
	if got := deliverAt(second); !got.Equal(at) {
		t.Errorf("%s property = %v, want %v", propDeliverAt, got, at)
	}
}

// brokerDelayTolerance is how early the broker may dispatch a delayed
// message: a millisecond (its unit) when isDelayedDeliveryDeliverAtTimeStrict,
// as on the broker of scripts/pulsar.sh, else up to its tick.
func brokerDelayTolerance(t *testing.T, tr *Transport) time.Duration {
	t.Helper()
	code, body, err := tr.admin.do(context.Background(), "GET", "/admin/v2/brokers/configuration/runtime", nil)
	if err != nil || code != 200 {
		t.Fatalf("broker configuration: %d %v", code, err)
	}
	var conf map[string]string
	if err := json.Unmarshal([]byte(body), &conf); err != nil {
		t.Fatalf("broker configuration: %v", err)
	}
	if conf["isDelayedDeliveryDeliverAtTimeStrict"] == "true" {
		return time.Millisecond
	}
	tick, err := time.ParseDuration(conf["delayedDeliveryTickTimeMillis"] + "ms")
	if err != nil {
		t.Fatalf("delayedDeliveryTickTimeMillis %q: %v", conf["delayedDeliveryTickTimeMillis"], err)
	}
	return tick + time.Millisecond
}

func decodeID(t *testing.T, b []byte) string {
	t.Helper()
	env, err := core.DecodeEnvelope(b)
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return env.ID
}

func TestDeadLetterEntry(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "task-executor:Billing"
	dlqRaw := rawConsumer(t, tr, core.DeadLetterTopic(topic))
	sub := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g", Keyed: true, MaxAttempts: 2,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err := tr.Publish(context.Background(), testEnv(topic, "doomed", "k"), testEnv(topic, "next", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		d := receive(t, sub)
		if id := idOf(t, d); id != "doomed" || d.Attempt() != attempt {
			t.Fatalf("got %s attempt %d, want doomed attempt %d", id, d.Attempt(), attempt)
		}
		if err := d.Nack(context.Background(), fmt.Errorf("card declined %d", attempt)); err != nil {
			t.Fatalf("Nack: %v", err)
		}
	}
	m := rawReceive(t, dlqRaw)
	if want := tr.TopicName("task-executor-dlq:Billing"); m.Topic() != want {
		t.Errorf("entry on %s, want %s", m.Topic(), want)
	}
	entry, err := core.DecodeEnvelope(m.Payload())
	if err != nil {
		t.Fatalf("decode entry: %v", err)
	}
	if entry.ID != "doomed" || entry.DeadLetterReason != "card declined 2" || entry.DeadLetterAttempts != 2 || m.Key() != "k" {
		t.Errorf("entry id %q reason %q attempts %d key %q, want doomed, card declined 2, 2, k",
			entry.ID, entry.DeadLetterReason, entry.DeadLetterAttempts, m.Key())
	}
	// The original was acknowledged: the key moves on.
	d := receive(t, sub)
	if id := idOf(t, d); id != "next" {
		t.Fatalf("after dead-lettering got %s, want next", id)
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLetterFailureKeepsMessage: when the entry cannot be written the
// message is neither acknowledged nor lost; it comes back.
func TestDeadLetterFailureKeepsMessage(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "task-executor:Flaky"
	sub := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g", Keyed: true,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err := tr.Publish(context.Background(), testEnv(topic, "poison", "k"), testEnv(topic, "next", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	d := receive(t, sub)
	tr.unbatched.closeAll() // every dead-letter publish now fails
	err := d.DeadLetter(context.Background(), "bad input")
	if err == nil {
		t.Fatal("DeadLetter succeeded without a dead-letter producer")
	}
	t.Logf("DeadLetter: %v", err)
	d = receive(t, sub)
	if id := idOf(t, d); id != "poison" || d.Attempt() != 2 {
		t.Fatalf("got %s attempt %d, want poison again (attempt 2) before its key moves on", id, d.Attempt())
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Fatal(err)
	}
	if id := idOf(t, receive(t, sub)); id != "next" {
		t.Fatalf("got %s, want next", id)
	}
}

// TestKeyedCloseRedeliversInOrder: a member leaves holding a key's
// messages (one delivered, the rest waiting behind it); another member gets
// them all, from the unacknowledged one on, in order.
func TestKeyedCloseRedeliversInOrder(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "workflow-engine:Order"
	opts := transport.SubscribeOptions{Group: "engine", Keyed: true}
	a, err := tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		t.Fatal(err)
	}
	var batch []core.Envelope
	for i := range 5 {
		batch = append(batch, testEnv(topic, fmt.Sprintf("m%d", i), "order-1"))
	}
	if err := tr.Publish(context.Background(), batch...); err != nil {
		t.Fatal(err)
	}
	d := receive(t, a)
	if id := idOf(t, d); id != "m0" {
		t.Fatalf("got %s, want m0", id)
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Fatal(err)
	}
	if id := idOf(t, receive(t, a)); id != "m1" {
		t.Fatalf("got %s, want m1", id)
	}
	b := subscribe(t, tr, topic, opts) // joins while a holds m1..m4
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Errorf("second Ack after Close should be a no-op: %v", err)
	}
	var got []string
	for len(got) < 4 {
		d := receive(t, b)
		got = append(got, idOf(t, d))
		t.Logf("%s attempt %d", got[len(got)-1], d.Attempt())
		if err := d.Ack(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[m1 m2 m3 m4]" {
		t.Errorf("the other member got %v, want [m1 m2 m3 m4]", got)
	}
}

func TestSettleAfterCloseIsErrClosed(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "task-executor:Closing"
	sub, err := tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(context.Background(), testEnv(topic, "x", "")); err != nil {
		t.Fatal(err)
	}
	d := receive(t, sub)
	_ = sub.Close()
	for name, settle := range map[string]func() error{
		"Ack":        func() error { return d.Ack(context.Background()) },
		"Nack":       func() error { return d.Nack(context.Background(), errors.New("x")) },
		"DeadLetter": func() error { return d.DeadLetter(context.Background(), "x") },
	} {
		if err := settle(); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("%s after Close returned %v, want ErrClosed", name, err)
		}
	}
}

func TestOversizedIsErrMessageTooLarge(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	cfg.MaxMessageSize = 1000
	tr := open(t, cfg)
	e := testEnv("x:big", "big", "")
	e.Data = []byte(`"` + strings.Repeat("x", 1000) + `"`)
	if err := tr.Publish(context.Background(), e); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("Publish of %d bytes returned %v, want ErrMessageTooLarge", len(e.Data), err)
	}
	if err := tr.PublishRaw(context.Background(), "x:big", "", make([]byte, 1001)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("PublishRaw of 1001 bytes returned %v, want ErrMessageTooLarge", err)
	}
	if got := tr.Capabilities().MaxMessageSize; got != 1000 {
		t.Errorf("Capabilities().MaxMessageSize = %d, want 1000", got)
	}
}

// TestLargeMessage: a message at the size limit goes through, and so does
// its dead-letter entry, which is larger than the limit before compression.
func TestLargeMessage(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "task-executor:Large"
	dlq := subscribe(t, tr, core.DeadLetterTopic(topic), transport.SubscribeOptions{Group: "dlq"})
	sub := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g", Keyed: true})
	e := testEnv(topic, "large", "k")
	noise := make([]byte, 3<<20)
	_, _ = rand.Read(noise)
	e.Data, _ = json.Marshal(base64.StdEncoding.EncodeToString(noise)) // 4 MiB of incompressible-ish text
	body, err := core.EncodeEnvelope(e)
	if err != nil {
		t.Fatal(err)
	}
	pad := DefaultMaxMessageSize - len(body)
	e.Data, _ = json.Marshal(base64.StdEncoding.EncodeToString(noise) + strings.Repeat("=", pad))
	if body, _ = core.EncodeEnvelope(e); len(body) != DefaultMaxMessageSize {
		t.Fatalf("envelope of %d bytes, want %d", len(body), DefaultMaxMessageSize)
	}
	if err := tr.Publish(context.Background(), e); err != nil {
		t.Fatalf("Publish of %d bytes: %v", len(body), err)
	}
	d := receive(t, sub)
	if !bytes.Equal(d.Body(), body) {
		t.Fatalf("received %d bytes, not the %d published", len(d.Body()), len(body))
	}
	if err := d.DeadLetter(context.Background(), "too big to handle"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	entry, err := core.DecodeEnvelope(receive(t, dlq).Body())
	if err != nil {
		t.Fatal(err)
	}
	if entry.ID != "large" || !bytes.Equal(entry.Data, e.Data) || entry.DeadLetterReason != "too big to handle" {
		t.Errorf("entry %s (%d data bytes, reason %q) does not keep the message", entry.ID, len(entry.Data), entry.DeadLetterReason)
	}
}

func TestNewSetsRetentionOfTheNamespaceItCreates(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	cfg.RetentionTime, cfg.RetentionSizeMB = 90*time.Minute, -5
	tr := open(t, cfg)
	code, body, err := tr.admin.do(context.Background(), "GET", "/admin/v2/namespaces/"+cfg.Tenant+"/"+cfg.Namespace+"/retention", nil)
	if err != nil || code != 200 {
		t.Fatalf("get retention: %d %s %v", code, body, err)
	}
	var got retention
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("retention %s: %v", body, err)
	}
	if got != (retention{Minutes: 90, SizeMB: -1}) {
		t.Errorf("retention = %+v, want 90 minutes and unlimited size", got)
	}
}

// TestDeadLettersAreKeptUnread: a dead-letter entry written before anybody
// reads the dead-letter topic waits on DeadLetterSubscription, which the
// namespace's retention does not expire: a reader that comes later, even
// one asking for new messages only, finds it there.
func TestDeadLettersAreKeptUnread(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	topic := "task-executor:Unread"
	sub := subscribe(t, tr, topic, transport.SubscribeOptions{Group: "g"})
	if err := tr.Publish(context.Background(), testEnv(topic, "doomed", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := receive(t, sub).DeadLetter(context.Background(), "bad input"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	c, err := tr.client.Subscribe(pulsar.ConsumerOptions{
		Topic: tr.TopicName(core.DeadLetterTopic(topic)), SubscriptionName: DeadLetterSubscription, Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionLatest,
	})
	if err != nil {
		t.Fatalf("subscribe %s: %v", DeadLetterSubscription, err)
	}
	t.Cleanup(c.Close)
	entry, err := core.DecodeEnvelope(rawReceive(t, c).Payload())
	if err != nil {
		t.Fatalf("decode entry: %v", err)
	}
	if entry.ID != "doomed" || entry.DeadLetterReason != "bad input" {
		t.Errorf("entry %s reason %q, want doomed, bad input", entry.ID, entry.DeadLetterReason)
	}
}

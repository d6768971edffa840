package pulsarfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	apulsar "github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// brokerFn is the role run on the broker: what it does with a message
// depends on the message's id.
type brokerFn struct {
	mu       sync.Mutex
	attempts map[string]int
	order    map[string][]int // per key, the seqs handled successfully on the keyed topic
	done     map[string]bool  // slow messages finished
	started  chan string      // slow and stuck messages begun
	release  chan struct{}    // closed to let slow messages finish
	// stuck: "stuck-" messages end only when the handler's context does
	// (the shutdown grace expires), so they are never acknowledged here.
	stuck bool
}

func newBrokerFn() *brokerFn {
	return &brokerFn{attempts: map[string]int{}, order: map[string][]int{}, done: map[string]bool{},
		started: make(chan string, 100), release: make(chan struct{})}
}

func (f *brokerFn) handle(ctx context.Context, in core.Envelope) (functions.Result, error) {
	f.mu.Lock()
	f.attempts[in.ID]++
	attempt := f.attempts[in.ID]
	f.mu.Unlock()
	out := functions.Result{Outputs: []core.Envelope{testEnv("pf-out:1", "out-"+in.ID, in.PartitionKey)}}
	switch {
	case in.Topic == "pf-keyed:1":
		var d struct{ Seq int }
		if err := json.Unmarshal(in.Data, &d); err != nil {
			return functions.Result{}, functions.Permanent("undecodable seq", err)
		}
		if d.Seq%4 == 1 && attempt == 1 {
			return functions.Result{}, errors.New("flaky on the first try")
		}
		f.mu.Lock()
		f.order[in.PartitionKey] = append(f.order[in.PartitionKey], d.Seq)
		f.mu.Unlock()
		return functions.Result{}, nil
	case strings.HasPrefix(in.ID, "retry-") && attempt == 1:
		return functions.Result{}, errors.New("database unavailable this once")
	case strings.HasPrefix(in.ID, "bad-"):
		return functions.Result{}, functions.Permanent("order refused", errors.New("no such sku"))
	case strings.HasPrefix(in.ID, "slow-"), strings.HasPrefix(in.ID, "stuck-"):
		f.started <- in.ID
		release := f.release
		if f.stuck && strings.HasPrefix(in.ID, "stuck-") {
			release = nil
		}
		select {
		case <-release:
		case <-ctx.Done():
			return functions.Result{}, ctx.Err()
		}
		f.mu.Lock()
		f.done[in.ID] = true
		f.mu.Unlock()
		return functions.Result{}, nil
	}
	return out, nil
}

func (f *brokerFn) function() *testFn {
	return &testFn{name: "broker-fn", handle: f.handle, subs: []functions.Subscription{
		{Topic: "pf-in:1"}, {Topic: "pf-keyed:1", Keyed: true}, {Topic: "pf-not-an-input:1"},
	}}
}

func subscribeTo(t *testing.T, tr transport.Transport, topic, group string) transport.Subscription {
	t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: group})
	if err != nil {
		t.Fatalf("Subscribe %s: %v", topic, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func TestInstanceOnBroker(t *testing.T) {
	b := newBrokerTest(t)
	ctx := context.Background()
	logTopic := "persistent://" + b.tenant + "/" + b.namespace + "/broker-fn-logs"
	conf := b.instanceConf(t, "broker-fn", logTopic, "pf-in:1", "pf-keyed:1")
	out := subscribeTo(t, b.tr, "pf-out:1", "reader")
	dlq := subscribeTo(t, b.tr, core.DeadLetterTopic("pf-in:1"), "dlq-reader")

	fn := newBrokerFn()
	fn.stuck = true
	inst, stop := runInstance(t, RunConfig{Instance: conf, Functions: []functions.Function{fn.function()}, Transport: b.tr,
		Logger: testLogger(t), Concurrency: 4, ShutdownGrace: 500 * time.Millisecond})

	// The consumers follow the config: Key_Shared on the keyed topic,
	// Shared on the other, with the three Pulsar Functions properties.
	for topic, want := range map[string]string{"pf-keyed:1": "Key_Shared", "pf-in:1": "Shared"} {
		st, ok := b.stats(t, topic, conf.SubscriptionName)
		if !ok || st.Type != want || len(st.Consumers) != 1 || st.Consumers[0].Metadata["application"] != "pulsar-function" ||
			st.Consumers[0].Metadata["id"] != conf.FQFN() || st.Consumers[0].Metadata["instance_id"] != "0" {
			t.Errorf("%s: subscription %s is %+v (found %t), want %s with the function's properties", topic, conf.SubscriptionName, st, ok, want)
		}
	}
	if _, ok := b.stats(t, "pf-not-an-input:1", conf.SubscriptionName); ok {
		t.Error("the instance subscribed to a topic of the function that is no input of its config")
	}

	// Handled and acknowledged, outputs published; a retryable failure is
	// redelivered; a permanent one lands on the dead-letter topic.
	envs := []core.Envelope{testEnv("pf-in:1", "ok-1", ""), testEnv("pf-in:1", "retry-1", ""), testEnv("pf-in:1", "bad-1", "")}
	const keys, perKey = 5, 12
	for s := range perKey {
		for k := range keys {
			e := testEnv("pf-keyed:1", fmt.Sprintf("k%d-%d", k, s), "key-"+strconv.Itoa(k))
			e.Data = seqData(s)
			envs = append(envs, e)
		}
	}
	if err := b.tr.Publish(ctx, envs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var outs []string
	for range 2 {
		outs = append(outs, receiveEnv(t, out).ID)
	}
	slices.Sort(outs)
	if !slices.Equal(outs, []string{"out-ok-1", "out-retry-1"}) {
		t.Errorf("outputs %v, want those of ok-1 and retry-1", outs)
	}
	if entry := receiveEnv(t, dlq); entry.ID != "bad-1" || !strings.Contains(entry.DeadLetterReason, "order refused: no such sku") {
		t.Errorf("dead-letter entry %s with reason %q", entry.ID, entry.DeadLetterReason)
	}
	fn.mu.Lock()
	retries := fn.attempts["retry-1"]
	fn.mu.Unlock()
	if retries != 2 {
		t.Errorf("retry-1 handled %d times, want 2 (failed, then redelivered)", retries)
	}

	// Keyed messages keep their order per key, retries included.
	deadline := time.Now().Add(waitTimeout)
	for {
		fn.mu.Lock()
		n := 0
		for _, seqs := range fn.order {
			n += len(seqs)
		}
		order := fn.order
		fn.mu.Unlock()
		if n >= keys*perKey {
			for k := range keys {
				key := "key-" + strconv.Itoa(k)
				fn.mu.Lock()
				got := slices.Clone(order[key])
				fn.mu.Unlock()
				if want := seqRange(perKey); !slices.Equal(got, want) {
					t.Errorf("%s handled in the order %v, want %v", key, got, want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d keyed messages handled", n, keys*perKey)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.waitBacklogZero(t, "pf-in:1", conf.SubscriptionName)
	b.waitBacklogZero(t, "pf-keyed:1", conf.SubscriptionName)

	// Health check and metrics answer during the run and agree.
	client := controlClient(t, inst.ControlAddr())
	if res, err := client.HealthCheck(ctx, connect.NewRequest(&emptypb.Empty{})); err != nil || !res.Msg.Success {
		t.Errorf("HealthCheck: %v, %v", res, err)
	}
	m, err := client.GetMetrics(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatalf("GetMetrics: %v", err)
	}
	// Every message was received once, and retry-1 and one keyed message
	// of every fourth seq once more.
	wantReceived := int64(3 + keys*perKey + 1 + keys*(perKey/4))
	if d := m.Msg; d.ReceivedTotal != wantReceived || d.UserExceptionsTotal != wantReceived-int64(2+keys*perKey) || d.ProcessedSuccessfullyTotal != int64(2+keys*perKey) {
		t.Errorf("metrics %v; want %d received, %d processed", d, wantReceived, 2+keys*perKey)
	}
	_, text := scrape(t, inst.MetricsAddr(), "/")
	if got := metricValue(t, text, "pulsar_function_received_total"); got != strconv.FormatInt(wantReceived, 10) {
		t.Errorf("pulsar_function_received_total = %s, want %d", got, wantReceived)
	}

	// The log topic has the instance's lines.
	b.expectLogLine(t, logTopic, "pulsar functions instance started")

	// Stop with messages in flight: those that finish within the grace are
	// acknowledged, the others (the stuck ones at least) are left
	// unacknowledged and go to a second instance.
	var slows []core.Envelope
	for i := range 6 {
		slows = append(slows, testEnv("pf-in:1", fmt.Sprintf("slow-%d", i), ""), testEnv("pf-in:1", fmt.Sprintf("stuck-%d", i), ""))
	}
	if err := b.tr.Publish(ctx, slows...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case <-fn.started:
	case <-time.After(waitTimeout):
		t.Fatal("no slow message started")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Let the ones in flight finish now, during the grace (or after it:
	// then they are interrupted and come back).
	time.Sleep(50 * time.Millisecond)
	close(fn.release)
	if err := <-stopped; err != nil {
		t.Fatalf("first instance: Run after cancel: %v", err)
	}
	fn.mu.Lock()
	firstDone := len(fn.done)
	fn.mu.Unlock()

	fn2 := newBrokerFn()
	close(fn2.release)
	_, stop2 := runInstance(t, RunConfig{Instance: b.instanceConf(t, "broker-fn", "", "pf-in:1", "pf-keyed:1"),
		Functions: []functions.Function{fn2.function()}, Transport: b.tr, Logger: testLogger(t)})
	deadline = time.Now().Add(waitTimeout)
	for {
		fn.mu.Lock()
		fn2.mu.Lock()
		var missing []string
		for _, e := range slows {
			if !fn.done[e.ID] && !fn2.done[e.ID] {
				missing = append(missing, e.ID)
			}
		}
		fn2.mu.Unlock()
		fn.mu.Unlock()
		if len(missing) == 0 {
			for _, e := range slows {
				if strings.HasPrefix(e.ID, "stuck-") && fn.done[e.ID] {
					t.Errorf("%s finished on the first instance, which never lets it", e.ID)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v neither processed by the first instance (%d were) nor redelivered to the second", missing, firstDone)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.waitBacklogZero(t, "pf-in:1", conf.SubscriptionName)
	if err := stop2(); err != nil {
		t.Fatalf("second instance: %v", err)
	}
	t.Logf("of %d messages in flight or queued at the stop, the first instance finished %d", len(slows), firstDone)
}

func seqRange(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// expectLogLine reads the log topic with a plain client until a line
// holds want.
func (b *brokerTest) expectLogLine(t *testing.T, topic, want string) {
	t.Helper()
	client, err := apulsar.NewClient(apulsar.ClientOptions{URL: b.url, Logger: plog.DefaultNopLogger()})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	c, err := client.Subscribe(apulsar.ConsumerOptions{Topic: topic, SubscriptionName: "log-reader",
		SubscriptionInitialPosition: apulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatalf("subscribe to the log topic: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("no log line holding %q on %s: %v", want, topic, err)
		}
		if strings.Contains(string(m.Payload()), want) {
			return
		}
	}
}

// TestInstanceFollowsFunctionDetailsOnBroker: a config of the newest
// generation, whose functionDetails asks for FAILOVER (retainOrdering) and
// LATEST, gets a Failover subscription that starts after what was
// published before it.
func TestInstanceFollowsFunctionDetailsOnBroker(t *testing.T) {
	b := newBrokerTest(t)
	ctx := context.Background()
	details, err := json.Marshal(map[string]any{
		"tenant": b.tenant, "namespace": b.namespace, "name": "ordered", "runtime": "GO", "autoAck": true, "parallelism": 1,
		"source": map[string]any{
			"subscriptionType": "FAILOVER", "subscriptionName": "ordered-sub",
			"inputSpecs": map[string]any{b.full("pf-keyed:1"): map[string]any{"receiverQueueSize": map[string]any{"value": 10}}},
		},
		"retainOrdering": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(map[string]any{"pulsarServiceURL": b.url, "port": 0, "metricsPort": 0, "clusterName": "standalone",
		"tenant": b.tenant, "nameSpace": b.namespace, "name": "ordered", "subscriptionType": 0, "functionDetails": string(details)})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ParseArgs([]string{"--instance-conf", string(doc)})
	if err != nil {
		t.Fatalf("ParseArgs: %v", err)
	}
	if err := b.tr.Publish(ctx, testEnv("pf-keyed:1", "before", "k")); err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 10)
	fn := &testFn{name: "ordered", subs: []functions.Subscription{{Topic: "pf-keyed:1", Keyed: true}},
		handle: func(_ context.Context, in core.Envelope) (functions.Result, error) {
			handled <- in.ID
			return functions.Result{}, nil
		}}
	_, stop := runInstance(t, RunConfig{Instance: conf, Functions: []functions.Function{fn}, Transport: b.tr, Logger: testLogger(t)})
	st, ok := b.stats(t, "pf-keyed:1", "ordered-sub")
	if !ok || st.Type != "Failover" {
		t.Errorf("subscription ordered-sub is %+v (found %t), want Failover", st, ok)
	}
	if err := b.tr.Publish(ctx, testEnv("pf-keyed:1", "after", "k")); err != nil {
		t.Fatal(err)
	}
	// One consumer, one key: had "before" been delivered, it would have
	// come first.
	select {
	case id := <-handled:
		if id != "after" {
			t.Errorf("handled %s first, want after (the subscription starts at the latest message)", id)
		}
	case <-time.After(waitTimeout):
		t.Fatal("nothing handled")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

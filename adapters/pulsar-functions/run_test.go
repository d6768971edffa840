package pulsarfunctions

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// memConf is an instance config whose inputs are the memory transport's
// topics.
func memConf(topics ...string) *InstanceConfig {
	c := &InstanceConfig{ServiceURL: "pulsar://unused:6650", Tenant: "public", Namespace: "default", Name: "fn", ShardID: 1,
		ClusterName: "test", SubscriptionName: "public/default/fn", SubscriptionPosition: Earliest}
	for _, t := range topics {
		c.Inputs = append(c.Inputs, Input{Topic: pname(t)})
	}
	return c
}

// runInstance runs cfg until the test ends and returns the instance once
// it is ready, and a stop that cancels it and returns what Run returned.
func runInstance(t *testing.T, cfg RunConfig) (*Instance, func() error) {
	t.Helper()
	inst, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.Run(ctx) }()
	select {
	case <-inst.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(waitTimeout):
		cancel()
		t.Fatal("instance not ready")
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(waitTimeout):
				runErr = errors.New("Run did not return after cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return inst, stop
}

func receiveEnv(t *testing.T, sub transport.Subscription) core.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	e, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	_ = d.Ack(ctx)
	return e
}

func TestRunOnMemory(t *testing.T) {
	t.Parallel()
	tr := newMemTransport(t)
	out, err := tr.Subscribe(context.Background(), "out:1", transport.SubscribeOptions{Group: "reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	engine := &testFn{name: "engine", subs: []functions.Subscription{{Topic: "in:1", Keyed: true}, {Topic: "elsewhere:1"}},
		handle: func(_ context.Context, in core.Envelope) (functions.Result, error) {
			return functions.Result{Outputs: []core.Envelope{testEnv("out:1", "out-"+in.ID, in.PartitionKey)}}, nil
		}}
	listener := &testFn{name: "listener", subs: []functions.Subscription{{Topic: "events:1"}},
		handle: func(context.Context, core.Envelope) (functions.Result, error) { return functions.Result{}, nil }}
	conf := memConf("in:1", "events:1")
	conf.Inputs[0].ReceiverQueueSize = 3
	inst, stop := runInstance(t, RunConfig{Instance: conf, Functions: []functions.Function{engine, listener}, Transport: tr})

	if err := tr.Publish(context.Background(), testEnv("in:1", "m1", "k")); err != nil {
		t.Fatal(err)
	}
	if got := receiveEnv(t, out); got.ID != "out-m1" {
		t.Fatalf("output %s, want out-m1", got.ID)
	}
	tune, group := tr.tuning("in:1")
	if group != "public/default/fn" || tune.ReceiverQueueSize != 3 || tune.Latest || tune.Properties["application"] != "pulsar-function" ||
		tune.Properties["id"] != "public/default/fn" || tune.Properties["instance_id"] != "1" {
		t.Errorf("in:1 subscribed as %q with %+v", group, tune)
	}
	if _, group := tr.tuning("elsewhere:1"); group != "" {
		t.Errorf("the instance subscribed to elsewhere:1, which is no input of its config")
	}
	if _, group := tr.tuning("events:1"); group == "" {
		t.Errorf("the second function did not subscribe to its input")
	}

	client := controlClient(t, inst.ControlAddr())
	if res, err := client.HealthCheck(context.Background(), connect.NewRequest(&emptypb.Empty{})); err != nil || !res.Msg.Success {
		t.Errorf("HealthCheck: %v, %v", res, err)
	}
	// The output is published before the input's metrics are final (acks
	// come after): poll until they show it.
	deadline := time.Now().Add(waitTimeout)
	for {
		st, err := client.GetFunctionStatus(context.Background(), connect.NewRequest(&emptypb.Empty{}))
		if err != nil {
			t.Fatalf("GetFunctionStatus: %v", err)
		}
		if st.Msg.NumSuccessfullyProcessed == 1 {
			if !st.Msg.Running || st.Msg.NumReceived != 1 || st.Msg.InstanceId != "1" {
				t.Errorf("status %v", st.Msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never shows the message processed: %v", st.Msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, text := scrape(t, inst.MetricsAddr(), "/"); metricValue(t, text, "pulsar_function_processed_successfully_total") != "1" {
		t.Errorf("metrics:\n%s", text)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if _, err := net.DialTimeout("tcp", loopback(inst.ControlAddr()), time.Second); err == nil {
		t.Error("the control server still listens after Run returned")
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	tr := newMemTransport(t)
	fn := &testFn{name: "f", subs: []functions.Subscription{{Topic: "in:1"}}}
	once := memConf("in:1")
	once.ProcessingGuarantee = EffectivelyOnce
	for _, tc := range []struct {
		name string
		cfg  RunConfig
		want string
	}{
		{"no config", RunConfig{Functions: []functions.Function{fn}, Transport: tr}, "RunConfig.Instance is nil"},
		{"no transport", RunConfig{Instance: memConf("in:1"), Functions: []functions.Function{fn}}, "RunConfig.Transport is nil"},
		{"no function", RunConfig{Instance: memConf("in:1"), Transport: tr}, "RunConfig.Functions is empty"},
		{"nil function", RunConfig{Instance: memConf("in:1"), Transport: tr, Functions: []functions.Function{nil}}, "RunConfig.Functions[0] is nil"},
		{"negative grace", RunConfig{Instance: memConf("in:1"), Transport: tr, Functions: []functions.Function{fn}, ShutdownGrace: -1}, "RunConfig.ShutdownGrace"},
		{"effectively once", RunConfig{Instance: once, Transport: tr, Functions: []functions.Function{fn}}, "processingGuarantees EFFECTIVELY_ONCE is not supported"},
		{"input nobody consumes", RunConfig{Instance: memConf("in:1", "stray:1"), Transport: tr, Functions: []functions.Function{fn}}, `"persistent://public/default/stray:1"`},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestAtMostOnceAcknowledgesOnReceipt(t *testing.T) {
	t.Parallel()
	tr := newMemTransport(t)
	var logs syncBuffer
	handled := make(chan string, 10)
	fn := &testFn{name: "f", subs: []functions.Subscription{{Topic: "in:amo"}},
		handle: func(_ context.Context, in core.Envelope) (functions.Result, error) {
			handled <- in.ID
			return functions.Result{}, errors.New("flaky")
		}}
	conf := memConf("in:amo")
	conf.ProcessingGuarantee = AtMostOnce
	runInstance(t, RunConfig{Instance: conf, Functions: []functions.Function{fn}, Transport: tr,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := tr.Publish(context.Background(), testEnv("in:amo", "m1", "")); err != nil {
		t.Fatal(err)
	}
	if id := <-handled; id != "m1" {
		t.Fatalf("handled %s", id)
	}
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(logs.String(), "lost (at most once)") {
		if time.Now().After(deadline) {
			t.Fatalf("the failure was not reported as lost (at most once):\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatchdogStopsRun(t *testing.T) {
	t.Parallel()
	tr := newMemTransport(t)
	fn := &testFn{name: "f", subs: []functions.Subscription{{Topic: "in:wd"}}}
	conf := memConf("in:wd")
	conf.ExpectedHealthCheckInterval = 20 * time.Millisecond
	inst, err := New(RunConfig{Instance: conf, Functions: []functions.Function{fn}, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- inst.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no health check") {
			t.Fatalf("Run: %v, want the watchdog's error", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the instance heard no health check and did not stop")
	}
}

// TestRunOnePortForBoth: the functions worker can hand out one port for
// InstanceControl and the metrics; the instance serves both on it.
func TestRunOnePortForBoth(t *testing.T) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tr := newMemTransport(t)
	conf := memConf("in:both")
	conf.Port, conf.MetricsPort = port, port
	inst, stop := runInstance(t, RunConfig{Instance: conf, Transport: tr,
		Functions: []functions.Function{&testFn{name: "f", subs: []functions.Subscription{{Topic: "in:both"}}}}})
	if inst.ControlAddr().String() != inst.MetricsAddr().String() {
		t.Errorf("control on %v, metrics on %v: want one address", inst.ControlAddr(), inst.MetricsAddr())
	}
	client := controlClient(t, inst.ControlAddr())
	if res, err := client.HealthCheck(context.Background(), connect.NewRequest(&emptypb.Empty{})); err != nil || !res.Msg.Success {
		t.Errorf("HealthCheck: %v, %v", res, err)
	}
	if _, text := scrape(t, inst.MetricsAddr(), "/metrics"); !strings.Contains(text, "pulsar_function_processed_successfully_total") {
		t.Errorf("the metrics on the shared port lack the processed counter:\n%.500s", text)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRunFailsOnTakenPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tr := newMemTransport(t)
	conf := memConf("in:port")
	conf.MetricsPort = ln.Addr().(*net.TCPAddr).Port
	err = Run(context.Background(), RunConfig{Instance: conf, Transport: tr,
		Functions: []functions.Function{&testFn{name: "f", subs: []functions.Subscription{{Topic: "in:port"}}}}})
	if err == nil || !strings.Contains(err.Error(), "metrics server: listen on port "+strconv.Itoa(conf.MetricsPort)) {
		t.Fatalf("Run with the metrics port taken: %v", err)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
)

const waitTimeout = 5 * time.Second

// fakeFn is a Function whose behaviour each test supplies.
type fakeFn struct {
	name   string
	subs   []functions.Subscription
	handle func(ctx context.Context, in core.Envelope) (functions.Result, error)
}

func (f *fakeFn) Name() string                            { return f.name }
func (f *fakeFn) Subscriptions() []functions.Subscription { return f.subs }
func (f *fakeFn) Handle(ctx context.Context, in core.Envelope) (functions.Result, error) {
	return f.handle(ctx, in)
}

func newFn(topic string, keyed bool, handle func(context.Context, core.Envelope) (functions.Result, error)) *fakeFn {
	return &fakeFn{name: "fake", subs: []functions.Subscription{{Topic: topic, Keyed: keyed}}, handle: handle}
}

func env(topic, id, key string) core.Envelope {
	return core.Envelope{
		ID: id, Source: "worker-test", SpecVersion: core.SpecVersion, Type: "test.Msg",
		Data: []byte(`{}`), PartitionKey: key, Topic: topic,
	}
}

// recorder logs publish and settle events in the order they happen.
type recorder struct {
	mu     sync.Mutex
	events []string
	// settleFault, when set, is asked before every settlement; an error it
	// returns is the settlement's, and the delivery stays unsettled.
	settleFault func(op string) error
}

func (r *recorder) fault(op string) error {
	r.mu.Lock()
	f := r.settleFault
	r.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(op)
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitFor polls until an event with the prefix has been recorded.
func (r *recorder) waitFor(t *testing.T, prefix string) []string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		events := r.snapshot()
		for _, e := range events {
			if strings.HasPrefix(e, prefix) {
				return events
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %q event; got %v", prefix, r.snapshot())
	return nil
}

// recTransport records Publish calls and the settling of deliveries.
type recTransport struct {
	transport.Transport
	rec *recorder
}

func (r *recTransport) Publish(ctx context.Context, envs ...core.Envelope) error {
	for _, e := range envs {
		r.rec.add("publish %s", e.ID)
	}
	return r.Transport.Publish(ctx, envs...)
}

func (r *recTransport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	sub, err := r.Transport.Subscribe(ctx, topic, opts)
	if err != nil {
		return nil, err
	}
	return &recSub{Subscription: sub, rec: r.rec}, nil
}

type recSub struct {
	transport.Subscription
	rec *recorder
}

func (s *recSub) Receive(ctx context.Context) (transport.Delivery, error) {
	d, err := s.Subscription.Receive(ctx)
	if err != nil {
		return nil, err
	}
	return &recDelivery{Delivery: d, rec: s.rec}, nil
}

type recDelivery struct {
	transport.Delivery
	rec *recorder
}

func (d *recDelivery) id() string {
	if e, err := core.DecodeEnvelope(d.Body()); err == nil {
		return e.ID
	}
	return "raw"
}

func (d *recDelivery) Ack(ctx context.Context) error {
	d.rec.add("ack %s", d.id())
	if err := d.rec.fault("ack"); err != nil {
		return err
	}
	return d.Delivery.Ack(ctx)
}

func (d *recDelivery) Nack(ctx context.Context, cause error) error {
	d.rec.add("nack %s", d.id())
	if err := d.rec.fault("nack"); err != nil {
		return err
	}
	return d.Delivery.Nack(ctx, cause)
}

func (d *recDelivery) DeadLetter(ctx context.Context, reason string) error {
	d.rec.add("deadletter %s", d.id())
	if err := d.rec.fault("deadletter"); err != nil {
		return err
	}
	return d.Delivery.DeadLetter(ctx, reason)
}

// setup returns a memory transport (closed at cleanup) and a recording view
// of it for the worker.
func setup(t *testing.T) (*memory.Transport, *recTransport) {
	t.Helper()
	mem := memory.New()
	t.Cleanup(func() { _ = mem.Close() })
	return mem, &recTransport{Transport: mem, rec: &recorder{}}
}

// start runs a worker until the test ends (or stop is called) and fails the
// test if Run does not return nil.
func start(t *testing.T, tr transport.Transport, fn functions.Function, cfg worker.Config) (stop func()) {
	t.Helper()
	w, err := worker.New(tr, fn, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-w.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(waitTimeout):
		cancel()
		t.Fatal("worker not ready")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(2 * waitTimeout):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func subscribe(t *testing.T, tr transport.Transport, topic, group string) transport.Subscription {
	t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: group})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// receive waits for and acks one message, returning it decoded.
func receive(t *testing.T, sub transport.Subscription) core.Envelope {
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
	if err := d.Ack(ctx); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	return e
}

func expectNothing(t *testing.T, sub transport.Subscription, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if d, err := sub.Receive(ctx); err == nil {
		t.Fatalf("unexpected delivery %s", d.Body())
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive: %v", err)
	}
}

func publish(t *testing.T, tr transport.Transport, envs ...core.Envelope) {
	t.Helper()
	if err := tr.Publish(context.Background(), envs...); err != nil {
		t.Fatalf("Publish: %v", err)
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

func bufferLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

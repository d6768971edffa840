package memory_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
	"github.com/weftio/weft/transport/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transport.Transport { return memory.New() })
}

func env(topic, id, key string) core.Envelope {
	return core.Envelope{
		ID: id, Source: "test", SpecVersion: core.SpecVersion, Type: "t",
		Data: []byte(`{}`), PartitionKey: key, Topic: topic,
	}
}

func subscribe(t *testing.T, tr transport.Transport, topic string, opts transport.SubscribeOptions) transport.Subscription {
	t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func publish(t *testing.T, tr transport.Transport, envs ...core.Envelope) {
	t.Helper()
	if err := tr.Publish(context.Background(), envs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// receiveIDs receives and acks n messages, returning their ids in order.
func receiveIDs(t *testing.T, sub transport.Subscription, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := sub.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Receive after %v: %v", ids, err)
		}
		e, err := core.DecodeEnvelope(d.Body())
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		ids = append(ids, e.ID)
		if err := d.Ack(context.Background()); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	return ids
}

func expectNothing(t *testing.T, sub transport.Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if d, err := sub.Receive(ctx); err == nil {
		t.Fatalf("unexpected delivery %q", d.Body())
	}
}

func TestDedupWindow(t *testing.T) {
	t.Parallel()
	tr := memory.New(memory.WithDedupWindow(2))
	defer tr.Close()
	sub := subscribe(t, tr, "t:dedup", transport.SubscribeOptions{Group: "g"})
	publish(t, tr, env("t:dedup", "a", ""), env("t:dedup", "a", ""), env("t:dedup", "b", ""))
	publish(t, tr, env("t:dedup", "c", ""), env("t:dedup", "a", "")) // a fell out of the window of 2
	got := receiveIDs(t, sub, 4)
	if strings.Join(got, ",") != "a,b,c,a" {
		t.Fatalf("got %v, want [a b c a]", got)
	}
	expectNothing(t, sub)
}

func TestDedupOff(t *testing.T) {
	t.Parallel()
	tr := memory.New(memory.WithDedupWindow(0))
	defer tr.Close()
	sub := subscribe(t, tr, "t:nodedup", transport.SubscribeOptions{Group: "g"})
	publish(t, tr, env("t:nodedup", "a", ""), env("t:nodedup", "a", ""))
	if got := receiveIDs(t, sub, 2); strings.Join(got, ",") != "a,a" {
		t.Fatalf("got %v", got)
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	sub := subscribe(t, tr, "t:batch", transport.SubscribeOptions{Group: "g"})
	bad := env("t:batch", "bad", "")
	bad.Source = ""
	err := tr.Publish(context.Background(), env("t:batch", "good", ""), bad)
	if err == nil || !strings.Contains(err.Error(), "source") {
		t.Fatalf("Publish error = %v, want one naming source", err)
	}
	expectNothing(t, sub)
}

func TestOversizedErrorNamesSizeAndLimit(t *testing.T) {
	t.Parallel()
	tr := memory.New(memory.WithMaxMessageSize(200))
	defer tr.Close()
	if got := tr.Capabilities().MaxMessageSize; got != 200 {
		t.Fatalf("MaxMessageSize = %d", got)
	}
	e := env("t:big", "big", "")
	e.Data = []byte(`"` + strings.Repeat("x", 300) + `"`)
	err := tr.Publish(context.Background(), e)
	if !errors.Is(err, memory.ErrMessageTooLarge) || !strings.Contains(err.Error(), "200 byte limit") {
		t.Fatalf("error = %v", err)
	}
	err = tr.PublishRaw(context.Background(), "t:big", "", make([]byte, 201))
	if !errors.Is(err, memory.ErrMessageTooLarge) || !strings.Contains(err.Error(), "201 bytes") {
		t.Fatalf("raw error = %v", err)
	}
}

func TestGroupOutlivesMembers(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	first, err := tr.Subscribe(context.Background(), "t:persist", transport.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	publish(t, tr, env("t:persist", "while-away", ""))
	sub := subscribe(t, tr, "t:persist", transport.SubscribeOptions{Group: "g"})
	if got := receiveIDs(t, sub, 1); got[0] != "while-away" {
		t.Fatalf("got %v", got)
	}
}

func TestBacklogGoesToFirstGroupOnly(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	publish(t, tr, env("t:backlog", "early", ""))
	a := subscribe(t, tr, "t:backlog", transport.SubscribeOptions{Group: "a"})
	b := subscribe(t, tr, "t:backlog", transport.SubscribeOptions{Group: "b"})
	if got := receiveIDs(t, a, 1); got[0] != "early" {
		t.Fatalf("got %v", got)
	}
	expectNothing(t, b)
}

func TestSubscribeValidation(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	ctx := context.Background()
	if _, err := tr.Subscribe(ctx, "t:v", transport.SubscribeOptions{}); err == nil || !strings.Contains(err.Error(), "Group") {
		t.Errorf("missing group: %v", err)
	}
	subscribe(t, tr, "t:v", transport.SubscribeOptions{Group: "g", Keyed: true})
	if _, err := tr.Subscribe(ctx, "t:v", transport.SubscribeOptions{Group: "g"}); err == nil || !strings.Contains(err.Error(), "Keyed") {
		t.Errorf("keyed mismatch: %v", err)
	}
}

func TestSettleAfterMemberClose(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	sub, err := tr.Subscribe(context.Background(), "t:settle", transport.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, tr, env("t:settle", "m", ""))
	d, err := sub.Receive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sub.Close()
	if err := d.Ack(context.Background()); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Ack of a released delivery = %v, want ErrClosed", err)
	}
	other := subscribe(t, tr, "t:settle", transport.SubscribeOptions{Group: "g"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d2, err := other.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Attempt() != 2 {
		t.Errorf("Attempt() = %d, want 2", d2.Attempt())
	}
}

// fakeClock fires timers only when advanced.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) memory.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

func TestDelayAndBackoffFollowTheClock(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := memory.New(memory.WithClock(clock))
	defer tr.Close()
	sub := subscribe(t, tr, "t:clock", transport.SubscribeOptions{Group: "g", Keyed: true})
	late := env("t:clock", "in-an-hour", "k")
	late.SetDeliverAt(clock.Now().Add(time.Hour))
	publish(t, tr, late, env("t:clock", "now", "k"))

	ctx := context.Background()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Nack(ctx, errors.New("later")); err != nil { // backoff: 100ms
		t.Fatal(err)
	}
	expectNothing(t, sub)
	clock.Advance(100 * time.Millisecond)
	if got := receiveIDs(t, sub, 1); got[0] != "now" {
		t.Fatalf("got %v, want the nacked message again", got)
	}
	expectNothing(t, sub)
	clock.Advance(time.Hour)
	if got := receiveIDs(t, sub, 1); got[0] != "in-an-hour" {
		t.Fatalf("got %v", got)
	}
}

func BenchmarkPublishReceive(b *testing.B) {
	for _, bc := range []struct {
		name  string
		keyed bool
		keys  int
	}{
		{"unkeyed", false, 0},
		{"keyed-1000", true, 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := memory.New()
			defer tr.Close()
			const topic = "bench:pubrecv"
			const receivers = 4
			var subs []transport.Subscription
			for range receivers {
				sub, err := tr.Subscribe(context.Background(), topic, transport.SubscribeOptions{Group: "g", Keyed: bc.keyed})
				if err != nil {
					b.Fatal(err)
				}
				subs = append(subs, sub)
			}
			keys := make([]string, max(bc.keys, 1))
			for i := range keys {
				if bc.keys > 0 {
					keys[i] = "key-" + strconv.Itoa(i)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var received atomic.Int64
			n := int64(b.N)
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for _, sub := range subs {
				wg.Go(func() {
					for {
						d, err := sub.Receive(ctx)
						if err != nil {
							return
						}
						_ = d.Ack(ctx)
						if received.Add(1) == n {
							cancel()
						}
					}
				})
			}
			e := env(topic, "", "")
			for i := range b.N {
				e.ID = "m-" + strconv.Itoa(i)
				e.PartitionKey = keys[i%len(keys)]
				if err := tr.Publish(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if got := received.Load(); got != n {
				b.Fatalf("received %d of %d", got, n)
			}
		})
	}
}

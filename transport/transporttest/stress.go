package transporttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// testGroupExclusive checks that members of one group never hold the same
// message at once and that, without failures, each message is delivered
// exactly once.
func testGroupExclusive(t *testing.T, h *harness) {
	const (
		members = 4
		n       = 200
	)
	topic := h.topic()
	var subs []transport.Subscription
	for range members {
		subs = append(subs, h.subscribe(topic, transport.SubscribeOptions{Group: "exclusive"}))
	}
	var batch []core.Envelope
	for i := range n {
		batch = append(batch, h.env(topic, fmt.Sprintf("x-%03d", i), ""))
	}
	h.publish(batch...)

	ctx, cancel := context.WithTimeout(context.Background(), 6*waitTimeout)
	defer cancel()
	var (
		mu    sync.Mutex
		held  = map[string]int{}
		acked = map[string]int{}
		wg    sync.WaitGroup
	)
	for m, sub := range subs {
		wg.Go(func() {
			for {
				d, err := sub.Receive(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("member %d: Receive: %v", m, err)
					}
					return
				}
				id := h.decodeOrReport(d)
				mu.Lock()
				held[id]++
				if held[id] > 1 {
					t.Errorf("%s is held by two members of the group at once", id)
				}
				mu.Unlock()
				time.Sleep(time.Millisecond) // hold it for a moment
				mu.Lock()
				held[id]--
				mu.Unlock()
				if err := d.Ack(context.Background()); err != nil {
					t.Errorf("Ack %s: %v", id, err)
				}
				mu.Lock()
				acked[id]++
				done := len(acked) == n
				mu.Unlock()
				if done {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if len(acked) != n {
		t.Fatalf("acknowledged %d distinct messages, want %d", len(acked), n)
	}
	for id, c := range acked {
		if c != 1 {
			t.Errorf("%s delivered and acknowledged %d times without any failure", id, c)
		}
	}
}

// testKeyedManyConsumers publishes many keys to a keyed group whose
// membership changes while it works: members join midway and one leaves
// holding an unacknowledged message; some first deliveries are nacked.
// Per key, acknowledgements must follow publish order and at most one
// message of a key may be in flight in the group.
func testKeyedManyConsumers(t *testing.T, h *harness) {
	h.requireKeyedOrder()
	const (
		keys   = 40
		perKey = 15
		total  = keys * perKey
	)
	topic := h.topic()
	opts := transport.SubscribeOptions{Group: "many", Keyed: true, Backoff: fastBackoff, MaxAttempts: 100}
	ctx, cancel := context.WithTimeout(context.Background(), 12*waitTimeout)
	defer cancel()

	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		next     = map[string]int{}
		acked    int
		received atomic.Int64
		wg       sync.WaitGroup
	)
	// consume runs one member; leaveAfter > 0 makes it close its
	// subscription, without acknowledging, on its leaveAfter-th delivery.
	consume := func(name string, sub transport.Subscription, leaveAfter int) {
		for n := 1; ; n++ {
			d, err := sub.Receive(ctx)
			if err != nil {
				if !errors.Is(err, context.Canceled) && !errors.Is(err, transport.ErrClosed) {
					t.Errorf("%s: Receive: %v", name, err)
				}
				return
			}
			received.Add(1)
			env, derr := core.DecodeEnvelope(d.Body())
			if derr != nil {
				t.Errorf("%s: decode: %v", name, derr)
				return
			}
			var seq int
			if _, err := fmt.Sscanf(env.ID[len(env.ID)-3:], "%03d", &seq); err != nil {
				t.Errorf("%s: id %q: %v", name, env.ID, err)
				return
			}
			key := d.Key()
			mu.Lock()
			inFlight[key]++
			if inFlight[key] > 1 {
				t.Errorf("key %s has two messages in flight in one group", key)
			}
			mu.Unlock()
			time.Sleep(200 * time.Microsecond)
			mu.Lock()
			inFlight[key]--
			mu.Unlock()
			if leaveAfter > 0 && n == leaveAfter {
				if err := sub.Close(); err != nil {
					t.Errorf("%s: Close: %v", name, err)
				}
				return
			}
			if seq%7 == 3 && d.Attempt() == 1 {
				if err := d.Nack(context.Background(), errors.New("first attempt fails")); err != nil {
					t.Errorf("%s: Nack: %v", name, err)
				}
				continue
			}
			mu.Lock()
			if seq != next[key] {
				t.Errorf("key %s: acknowledging seq %d, want %d", key, seq, next[key])
			}
			next[key] = seq + 1
			mu.Unlock()
			if err := d.Ack(context.Background()); err != nil {
				t.Errorf("%s: Ack: %v", name, err)
			}
			mu.Lock()
			acked++
			done := acked == total
			mu.Unlock()
			if done {
				cancel()
			}
		}
	}

	leaver, err := h.tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	wg.Go(func() { consume("leaver", leaver, 25) })
	for i := range 2 {
		sub := h.subscribe(topic, opts)
		wg.Go(func() { consume(fmt.Sprintf("member-%d", i), sub, 0) })
	}
	for i := range perKey {
		var batch []core.Envelope
		for k := range keys {
			batch = append(batch, h.env(topic, fmt.Sprintf("k%02d-%03d", k, i), fmt.Sprintf("key-%02d", k)))
		}
		h.publish(batch...)
		if i == perKey/2 {
			for j := range 2 {
				sub := h.subscribe(topic, opts)
				wg.Go(func() { consume(fmt.Sprintf("late-%d", j), sub, 0) })
			}
		}
	}
	wg.Wait()
	if acked != total {
		t.Fatalf("acknowledged %d of %d messages (%d deliveries)", acked, total, received.Load())
	}
	t.Logf("%d messages, %d deliveries", total, received.Load())
}

// testDelayNotEarly checks every delayed message arrives at or after its
// instant, and not very late.
func testDelayNotEarly(t *testing.T, h *harness) {
	h.requireDelay()
	const (
		n        = 12
		tolerate = 2 * time.Millisecond // brokers keep delivery instants in ms
		// tooLate catches a transport that holds delayed messages for a
		// structural reason (a poll or long-poll period, a visibility
		// timeout, instants rounded to minutes), not a slow machine: a
		// loaded run under the race detector has been seen 4 s late on a
		// queue with whole-second delays.
		tooLate = 10 * time.Second
	)
	for _, keyed := range []bool{false, true} {
		if keyed && !h.caps.KeyedOrder {
			continue
		}
		topic := h.topic()
		sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g", Keyed: keyed})
		start := time.Now()
		due := map[string]time.Time{}
		var batch []core.Envelope
		for i := range n {
			e := h.env(topic, fmt.Sprintf("d-%02d", i), fmt.Sprintf("key-%d", i%3))
			at := start.Add(150*time.Millisecond + time.Duration(n-i)*40*time.Millisecond)
			e.SetDeliverAt(at)
			due[e.ID] = at
			batch = append(batch, e)
		}
		h.publish(batch...)
		var worst time.Duration
		for range n {
			d := h.receive(sub)
			now := time.Now()
			id := h.decode(d).ID
			at, ok := due[id]
			if !ok {
				t.Fatalf("unexpected or duplicate %s", id)
			}
			delete(due, id)
			if now.Before(at.Add(-tolerate)) {
				t.Errorf("keyed=%v: %s delivered %v before its instant", keyed, id, at.Sub(now))
			}
			if late := now.Sub(at); late > worst {
				worst = late
			}
			h.ack(d)
		}
		if worst > tooLate {
			t.Errorf("keyed=%v: a delayed message arrived %v after its instant", keyed, worst)
		}
		t.Logf("keyed=%v: latest delayed delivery %v after its instant", keyed, worst)
	}
}

// testNackBackoffRespected checks a nacked message comes back no sooner
// than the backoff asks.
func testNackBackoffRespected(t *testing.T, h *harness) {
	const backoff = 300 * time.Millisecond
	for _, keyed := range []bool{false, true} {
		if keyed && !h.caps.KeyedOrder {
			continue
		}
		topic := h.topic()
		sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g", Keyed: keyed,
			Backoff: func(int) time.Duration { return backoff }})
		h.publish(h.env(topic, "slow-retry", "k"))
		d := h.receive(sub)
		nacked := time.Now()
		if err := d.Nack(context.Background(), errors.New("later")); err != nil {
			t.Fatalf("Nack: %v", err)
		}
		d = h.receive(sub)
		if elapsed := time.Since(nacked); elapsed < backoff-5*time.Millisecond {
			t.Errorf("keyed=%v: redelivered after %v, before the %v backoff", keyed, elapsed, backoff)
		}
		if d.Attempt() != 2 {
			t.Errorf("keyed=%v: Attempt() = %d, want 2", keyed, d.Attempt())
		}
		h.ack(d)
	}
}

// testDurableRestart checks messages published before a transport closes
// are delivered by a new transport on the same backend.
func testDurableRestart(t *testing.T, h *harness) {
	h.requireDurable()
	topic := h.topic()
	opts := transport.SubscribeOptions{Group: "g", Keyed: h.caps.KeyedOrder}
	h.subscribe(topic, opts) // the group exists before publishing
	want := map[string]bool{}
	var batch []core.Envelope
	for i := range 5 {
		e := h.env(topic, fmt.Sprintf("kept-%d", i), fmt.Sprintf("key-%d", i%2))
		want[e.ID] = true
		batch = append(batch, e)
	}
	delayed := h.env(topic, "kept-delayed", "key-0")
	if h.caps.Delay {
		delayed.SetDeliverAt(time.Now().Add(400 * time.Millisecond))
	}
	want[delayed.ID] = true
	h.publish(append(batch, delayed)...)
	if err := h.tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	again := h.reopen()
	sub := h.subscribeOn(again, topic, opts)
	for len(want) > 0 {
		d := h.receive(sub)
		id := h.decode(d).ID
		if !want[id] {
			t.Fatalf("unexpected or duplicate %s", id)
		}
		delete(want, id)
		h.ack(d)
	}
	h.expectNothing(sub)
}

// testDurableUnackedRedelivered checks at-least-once when a consumer goes
// away (its whole transport closes) between receiving and acknowledging.
func testDurableUnackedRedelivered(t *testing.T, h *harness) {
	h.requireDurable()
	topic := h.topic()
	opts := transport.SubscribeOptions{Group: "g", Keyed: h.caps.KeyedOrder}
	sub := h.subscribe(topic, opts)
	h.publish(h.env(topic, "pending", "k"), h.env(topic, "after", "k"))
	d := h.receive(sub)
	if id := h.decode(d).ID; id != "pending" && (h.caps.KeyedOrder || id != "after") {
		t.Fatalf("got %s, want pending", id)
	}
	if err := h.tr.Close(); err != nil { // the consumer dies before acknowledging
		t.Fatalf("Close: %v", err)
	}
	// Acknowledging through a closed transport must not count (the result
	// does not matter; the message must still come back).
	_ = d.Ack(context.Background())

	again := h.reopen()
	sub2 := h.subscribeOn(again, topic, opts)
	got := []string{}
	for len(got) < 2 {
		d := h.receive(sub2)
		got = append(got, h.decode(d).ID)
		h.ack(d)
	}
	if h.caps.KeyedOrder && (got[0] != "pending" || got[1] != "after") {
		t.Errorf("after the restart got %v, want [pending after]", got)
	}
	if slices.Sort(got); got[0] != "after" || got[1] != "pending" { // without order, both once
		t.Errorf("after the restart got %v, want pending and after", got)
	}
	h.expectNothing(sub2)
}

// decodeOrReport returns the envelope id of d, or its raw body when it is
// not an envelope (reported as an error).
func (h *harness) decodeOrReport(d transport.Delivery) string {
	env, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		h.t.Errorf("decode %q: %v", d.Body(), err)
		return string(d.Body())
	}
	return env.ID
}

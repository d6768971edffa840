package transporttest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

func testKeyedOrder(t *testing.T, h *harness) {
	h.requireKeyedOrder()
	const (
		keys      = 20
		perKey    = 50
		receivers = 4
		total     = keys * perKey
	)
	topic := h.topic()
	var subs []transport.Subscription
	for range receivers {
		subs = append(subs, h.subscribe(topic, transport.SubscribeOptions{Group: "ordered", Keyed: true}))
	}
	// Interleave keys so order per key is not an accident of batching.
	for i := range perKey {
		var batch []core.Envelope
		for k := range keys {
			e := h.env(topic, fmt.Sprintf("k%02d-%03d", k, i), fmt.Sprintf("key-%02d", k))
			e.Data = []byte(fmt.Sprintf(`{"seq":%d}`, i))
			batch = append(batch, e)
		}
		h.publish(batch...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 6*waitTimeout)
	defer cancel()
	var (
		inFlight [keys]atomic.Int32
		mu       sync.Mutex
		next     = map[string]int{}
		count    int
		wg       sync.WaitGroup
	)
	for r, sub := range subs {
		wg.Go(func() {
			for n := 0; ; n++ {
				d, err := sub.Receive(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("receiver %d: Receive: %v", r, err)
					}
					return
				}
				env, derr := core.DecodeEnvelope(d.Body())
				if derr != nil {
					t.Errorf("decode: %v", derr)
					return
				}
				var k, seq int
				if _, err := fmt.Sscanf(env.ID, "k%02d-%03d", &k, &seq); err != nil {
					t.Errorf("unexpected id %q", env.ID)
					return
				}
				if !inFlight[k].CompareAndSwap(0, 1) {
					t.Errorf("two messages of %s in flight at once (second: %s)", d.Key(), env.ID)
				}
				mu.Lock()
				if want := next[d.Key()]; seq != want {
					t.Errorf("%s: got seq %d, want %d", d.Key(), seq, want)
				}
				next[d.Key()] = seq + 1
				count++
				done := count == total
				mu.Unlock()
				if n%7 == 0 {
					runtime.Gosched() // widen the window for a second delivery of the key
				}
				// Release before acking: the ack may let the key's next
				// message go to another receiver at once.
				inFlight[k].Store(0)
				if err := d.Ack(context.Background()); err != nil {
					t.Errorf("Ack: %v", err)
				}
				if done {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if count != total {
		t.Fatalf("received %d messages, want %d", count, total)
	}
}

func testKeyedNackKeepsOrder(t *testing.T, h *harness) {
	h.requireKeyedOrder()
	topic := h.topic()
	sub := h.subscribe(topic, transport.SubscribeOptions{Group: "g", Keyed: true, Backoff: func(int) time.Duration {
		return 50 * time.Millisecond
	}})
	h.publish(h.env(topic, "first", "k"), h.env(topic, "second", "k"))

	d := h.receive(sub)
	if id := h.decode(d).ID; id != "first" {
		t.Fatalf("got %s, want first", id)
	}
	if err := d.Nack(context.Background(), errors.New("try later")); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	d = h.receive(sub)
	if id := h.decode(d).ID; id != "first" || d.Attempt() != 2 {
		t.Fatalf("got %s attempt %d, want first attempt 2 (the nacked message blocks its key)", id, d.Attempt())
	}
	h.ack(d)
	d = h.receive(sub)
	if id := h.decode(d).ID; id != "second" {
		t.Fatalf("got %s, want second", id)
	}
	h.ack(d)
}

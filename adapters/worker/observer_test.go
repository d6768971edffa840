package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// obsRecorder is an Observer that records what it is told.
type obsRecorder struct {
	mu     sync.Mutex
	events []string
}

func (o *obsRecorder) add(s string) {
	o.mu.Lock()
	o.events = append(o.events, s)
	o.mu.Unlock()
}

func (o *obsRecorder) Received(topic string) { o.add("received " + topic) }
func (o *obsRecorder) Processed(topic string, latency time.Duration) {
	if latency < 0 {
		o.add("negative latency")
	}
	o.add("processed " + topic)
}
func (o *obsRecorder) Failed(topic string, err error, permanent bool, _ time.Duration) {
	o.add(fmt.Sprintf("failed %s permanent=%t: %v", topic, permanent, err))
}

func (o *obsRecorder) snapshot() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

func TestObserverSeesEveryOutcome(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	obs := &obsRecorder{}
	var retried atomic.Bool
	fn := newFn("in:obs", false, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		switch in.ID {
		case "retry":
			if !retried.Swap(true) {
				return functions.Result{}, errors.New("not yet")
			}
		case "bad":
			return functions.Result{}, functions.Permanent("bad input", errors.New("no such thing"))
		}
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{Observer: obs, Concurrency: 1})
	publish(t, mem, env("in:obs", "retry", ""))
	tr.rec.waitFor(t, "ack retry")
	publish(t, mem, env("in:obs", "bad", ""))
	tr.rec.waitFor(t, "deadletter bad")
	publish(t, mem, env("in:obs", "ok", ""))
	tr.rec.waitFor(t, "ack ok")

	want := []string{
		"received in:obs", "failed in:obs permanent=false: not yet",
		"received in:obs", "processed in:obs",
		"received in:obs", "failed in:obs permanent=true: bad input: no such thing",
		"received in:obs", "processed in:obs",
	}
	if got := obs.snapshot(); !slices.Equal(got, want) {
		t.Fatalf("observer told\n%v\nwant\n%v", got, want)
	}
}

func TestAckOnReceiptAcksBeforeHandlingAndNeverRetries(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	dlq := subscribe(t, mem, core.DeadLetterTopic("in:amo"), "dlq")
	logger, logs := bufferLogger()
	obs := &obsRecorder{}
	fn := newFn("in:amo", false, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		tr.rec.add("handle %s", in.ID)
		switch in.ID {
		case "fail":
			return functions.Result{}, errors.New("flaky")
		case "bad":
			return functions.Result{}, functions.Permanent("bad input", nil)
		}
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{AckOnReceipt: true, Concurrency: 1, Logger: logger, Observer: obs})
	for _, id := range []string{"fail", "bad", "last"} {
		publish(t, mem, env("in:amo", id, ""))
	}
	events := tr.rec.waitFor(t, "handle last")
	want := []string{"ack fail", "handle fail", "ack bad", "handle bad", "ack last", "handle last"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v (acknowledged before handling, failures neither nacked nor dead-lettered)", events, want)
	}
	if l := logs.String(); strings.Count(l, "lost (at most once)") != 2 {
		t.Errorf("log does not report both failures as lost:\n%s", l)
	}
	if got := obs.snapshot(); !slices.Contains(got, "failed in:amo permanent=true: bad input") || !slices.Contains(got, "failed in:amo permanent=false: flaky") {
		t.Errorf("observer not told of the failures: %v", got)
	}
	expectNothing(t, dlq, 50*time.Millisecond)
}

func TestAckOnReceiptDoesNotHandleWhatItCouldNotAck(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	var acks atomic.Int32
	tr.rec.settleFault = func(op string) error {
		if op == "ack" && acks.Add(1) == 1 {
			return fmt.Errorf("claim lapsed: %w", transport.ErrRedelivered)
		}
		return nil
	}
	fn := newFn("in:amo2", false, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		tr.rec.add("handle %s", in.ID)
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{AckOnReceipt: true, Concurrency: 1})
	publish(t, mem, env("in:amo2", "first", ""))
	publish(t, mem, env("in:amo2", "second", ""))
	events := tr.rec.waitFor(t, "handle second")
	if i := slices.Index(events, "handle first"); i >= 0 && i < slices.Index(events, "handle second") {
		t.Fatalf("events %v: the delivery whose ack failed was handled", events)
	}
	if events[0] != "ack first" {
		t.Fatalf("events %v, want the failed ack of first", events)
	}
}

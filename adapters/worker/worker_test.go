package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
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

func TestOutputsPublishedThenCommitThenAck(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	out := subscribe(t, mem, "out:a", "reader")
	fn := newFn("in:a", true, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		return functions.Result{
			Outputs: []core.Envelope{env("out:a", "out-"+in.ID, in.PartitionKey)},
			Commit: func(context.Context) error {
				tr.rec.add("commit %s", in.ID)
				return nil
			},
		}, nil
	})
	start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:a", "m1", "k"))

	events := tr.rec.waitFor(t, "ack m1")
	if want := []string{"publish out-m1", "commit m1", "ack m1"}; !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	if got := receive(t, out); got.ID != "out-m1" {
		t.Fatalf("output %s, want out-m1", got.ID)
	}
}

func TestConflictRehandles(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	out := subscribe(t, mem, "out:b", "reader")
	var handled, commits atomic.Int32
	fn := newFn("in:b", true, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		handled.Add(1)
		return functions.Result{
			Outputs: []core.Envelope{env("out:b", "out-"+in.ID, "")},
			Commit: func(context.Context) error {
				if commits.Add(1) == 1 {
					return fmt.Errorf("save: %w", functions.ErrConflict)
				}
				return nil
			},
		}, nil
	})
	start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:b", "m1", "k"))

	tr.rec.waitFor(t, "ack m1")
	if h, c := handled.Load(), commits.Load(); h != 2 || c != 2 {
		t.Fatalf("handled %d times, committed %d times, want 2 and 2", h, c)
	}
	// The re-handled output has the same id, so the transport's dedup
	// window keeps it to one message.
	if got := receive(t, out); got.ID != "out-m1" {
		t.Fatalf("output %s", got.ID)
	}
	expectNothing(t, out, 100*time.Millisecond)
}

func TestPermanentErrorDeadLettersAfterPublishingOutputs(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	dlq := subscribe(t, mem, core.DeadLetterTopic("in:c"), "dlq")
	out := subscribe(t, mem, "reply:c", "reader")
	var handled atomic.Int32
	fn := newFn("in:c", false, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		handled.Add(1)
		return functions.Result{Outputs: []core.Envelope{env("reply:c", "failed-"+in.ID, "")}},
			functions.Permanent("bad order", errors.New("no such sku"))
	})
	start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:c", "m1", ""))

	entry := receive(t, dlq)
	if entry.ID != "m1" || !strings.Contains(entry.DeadLetterReason, "bad order") || entry.DeadLetterAttempts != 1 {
		t.Fatalf("dead-letter entry id %q reason %q attempts %d", entry.ID, entry.DeadLetterReason, entry.DeadLetterAttempts)
	}
	if got := receive(t, out); got.ID != "failed-m1" {
		t.Fatalf("reply %s", got.ID)
	}
	events := tr.rec.snapshot()
	if want := []string{"publish failed-m1", "deadletter m1"}; !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	if n := handled.Load(); n != 1 {
		t.Fatalf("handled %d times, want once", n)
	}
}

func TestTransientErrorRetriedThenSucceeds(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	dlq := subscribe(t, mem, core.DeadLetterTopic("in:d"), "dlq")
	var handled atomic.Int32
	fn := newFn("in:d", true, func(context.Context, core.Envelope) (functions.Result, error) {
		if handled.Add(1) <= 2 {
			return functions.Result{}, errors.New("database unavailable")
		}
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:d", "m1", "k"))

	events := tr.rec.waitFor(t, "ack m1")
	if want := []string{"nack m1", "nack m1", "ack m1"}; !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	if n := handled.Load(); n != 3 {
		t.Fatalf("handled %d times, want 3", n)
	}
	expectNothing(t, dlq, 50*time.Millisecond)
}

func TestPanicIsRetriedThenDeadLettered(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	dlq := subscribe(t, mem, core.DeadLetterTopic("in:e"), "dlq")
	out := subscribe(t, mem, "out:e", "reader")
	logger, logs := bufferLogger()
	var panics atomic.Int32
	fn := newFn("in:e", true, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		if in.ID == "boom" {
			panics.Add(1)
			var m map[string]int
			m["nil map"]++ // a genuine runtime panic
		}
		return functions.Result{Outputs: []core.Envelope{env("out:e", "out-"+in.ID, "")}}, nil
	})
	start(t, tr, fn, worker.Config{MaxAttempts: 3, Logger: logger})
	publish(t, mem, env("in:e", "boom", "k"))

	entry := receive(t, dlq)
	if entry.ID != "boom" || entry.DeadLetterAttempts != 3 || !strings.Contains(entry.DeadLetterReason, "panic") {
		t.Fatalf("dead-letter entry id %q attempts %d reason %q", entry.ID, entry.DeadLetterAttempts, entry.DeadLetterReason)
	}
	if n := panics.Load(); n != 3 {
		t.Fatalf("handler panicked %d times, want 3", n)
	}
	if l := logs.String(); !strings.Contains(l, "handler panicked") || !strings.Contains(l, "goroutine") {
		t.Errorf("log lacks the panic and its stack:\n%s", l)
	}
	// The worker survived and keeps processing.
	publish(t, mem, env("in:e", "fine", "k"))
	if got := receive(t, out); got.ID != "out-fine" {
		t.Fatalf("output %s", got.ID)
	}
}

func TestMalformedBodyDeadLettered(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	dlq := subscribe(t, mem, core.DeadLetterTopic("in:f"), "dlq")
	var handled atomic.Int32
	fn := newFn("in:f", true, func(context.Context, core.Envelope) (functions.Result, error) {
		handled.Add(1)
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{})
	raw := []byte(`{"id": "half an envelope"`)
	if err := mem.PublishRaw(context.Background(), "in:f", "k", raw); err != nil {
		t.Fatal(err)
	}

	entry := receive(t, dlq)
	if entry.Type != transport.DeadLetterType || !strings.Contains(entry.DeadLetterReason, "undecodable") {
		t.Fatalf("entry type %q reason %q", entry.Type, entry.DeadLetterReason)
	}
	var data struct{ Body []byte }
	if err := json.Unmarshal(entry.Data, &data); err != nil || string(data.Body) != string(raw) {
		t.Fatalf("entry keeps %q (%v), want %q", data.Body, err, raw)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("handler ran %d times on malformed input", n)
	}
}

func TestOneHandlerPerKey(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	const keys, perKey = 8, 25
	var (
		mu        sync.Mutex
		active    = map[string]int{}
		maxPerKey int
		next      = map[string]int{}
		running   atomic.Int32
		maxAll    atomic.Int32
		done      = make(chan struct{})
		count     int
	)
	// An unkeyed subscription: the transport may hand out a key's messages
	// concurrently, so only the worker's lanes serialise them.
	fn := newFn("in:g", false, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		var seq int
		if err := json.Unmarshal(in.Data, &seq); err != nil {
			return functions.Result{}, functions.Permanent("bad data", err)
		}
		k := in.PartitionKey
		mu.Lock()
		active[k]++
		maxPerKey = max(maxPerKey, active[k])
		if seq != next[k] {
			t.Errorf("%s: seq %d, want %d", k, seq, next[k])
		}
		next[k] = seq + 1
		mu.Unlock()
		n := running.Add(1)
		for m := maxAll.Load(); n > m && !maxAll.CompareAndSwap(m, n); m = maxAll.Load() {
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		mu.Lock()
		active[k]--
		count++
		if count == keys*perKey {
			close(done)
		}
		mu.Unlock()
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{Concurrency: 8})
	for i := range perKey {
		for k := range keys {
			e := env("in:g", fmt.Sprintf("k%d-%d", k, i), fmt.Sprintf("key-%d", k))
			e.Data = []byte(fmt.Sprint(i))
			publish(t, mem, e)
		}
	}
	select {
	case <-done:
	case <-time.After(3 * waitTimeout):
		t.Fatalf("handled %d of %d", count, keys*perKey)
	}
	if maxPerKey != 1 {
		t.Errorf("up to %d handlers ran at once for one key, want 1", maxPerKey)
	}
	if maxAll.Load() < 2 {
		t.Errorf("at most %d handlers ran at once; lanes are not concurrent", maxAll.Load())
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	out := subscribe(t, mem, "out:h", "reader")
	started := make(chan struct{})
	var ctxErr atomic.Value
	fn := newFn("in:h", true, func(ctx context.Context, in core.Envelope) (functions.Result, error) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		ctxErr.Store(fmt.Sprint(ctx.Err()))
		return functions.Result{Outputs: []core.Envelope{env("out:h", "out-"+in.ID, "")}}, nil
	})
	stop := start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:h", "slow", "k"))
	<-started
	stop() // returns only once Run has

	if got := ctxErr.Load(); got != "<nil>" {
		t.Errorf("handler context was cancelled during the grace period: %v", got)
	}
	if events := tr.rec.snapshot(); !slices.Equal(events, []string{"publish out-slow", "ack slow"}) {
		t.Errorf("events %v, want the output published and the input acked", events)
	}
	if got := receive(t, out); got.ID != "out-slow" {
		t.Fatalf("output %s", got.ID)
	}
}

func TestShutdownGraceBoundsSlowHandlers(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	started := make(chan struct{}, 1)
	fn := newFn("in:i", true, func(ctx context.Context, in core.Envelope) (functions.Result, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done() // stuck until the grace period ends
		return functions.Result{}, ctx.Err()
	})
	stop := start(t, tr, fn, worker.Config{ShutdownGrace: 50 * time.Millisecond})
	publish(t, mem, env("in:i", "stuck", "k"))
	<-started
	begin := time.Now()
	stop()
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("shutdown took %v with a 50ms grace", d)
	}
	// The interrupted message is not lost: another consumer of the group
	// gets it.
	sub, err := mem.Subscribe(context.Background(), "in:i", transport.SubscribeOptions{Group: "fake", Keyed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("interrupted message not redelivered: %v", err)
	}
	if e, _ := core.DecodeEnvelope(d.Body()); e.ID != "stuck" {
		t.Fatalf("got %s", d.Body())
	}
}

func TestRunFailsWhenTransportCloses(t *testing.T) {
	t.Parallel()
	mem, _ := setup(t)
	w, err := worker.New(mem, newFn("in:j", false, nil), worker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	<-w.Ready()
	mem.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Run returned %v, want ErrClosed", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return after the transport closed")
	}
	if err := w.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	mem, _ := setup(t)
	ok := newFn("in:k", false, nil)
	for _, tc := range []struct {
		name string
		tr   transport.Transport
		fn   functions.Function
		cfg  worker.Config
		want string
	}{
		{"nil transport", nil, ok, worker.Config{}, "transport"},
		{"nil function", mem, nil, worker.Config{}, "function"},
		{"concurrency", mem, ok, worker.Config{Concurrency: -1}, "Concurrency"},
		{"max attempts", mem, ok, worker.Config{MaxAttempts: -2}, "MaxAttempts"},
		{"grace", mem, ok, worker.Config{ShutdownGrace: -time.Second}, "ShutdownGrace"},
		{"group", mem, &fakeFn{subs: ok.subs}, worker.Config{}, "Group"},
		{"no subscriptions", mem, &fakeFn{name: "x"}, worker.Config{}, "Subscriptions"},
		{"empty topic", mem, &fakeFn{name: "x", subs: []functions.Subscription{{}}}, worker.Config{}, "Topic"},
		{"duplicate topic", mem, &fakeFn{name: "x", subs: []functions.Subscription{{Topic: "a:b"}, {Topic: "a:b"}}}, worker.Config{}, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := worker.New(tc.tr, tc.fn, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one naming %q", err, tc.want)
			}
		})
	}
	if _, err := worker.New(mem, ok, worker.Config{}); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

// Not parallel: it counts goroutines.
func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	mem, tr := setup(t)
	var handled atomic.Int32
	fn := &fakeFn{name: "leak", subs: []functions.Subscription{{Topic: "in:l", Keyed: true}, {Topic: "in:m"}},
		handle: func(context.Context, core.Envelope) (functions.Result, error) {
			handled.Add(1)
			return functions.Result{}, nil
		}}
	stop := start(t, tr, fn, worker.Config{Concurrency: 3})
	for i := range 50 {
		publish(t, mem, env("in:l", fmt.Sprint("l", i), fmt.Sprint("k", i%5)), env("in:m", fmt.Sprint("m", i), ""))
	}
	for deadline := time.Now().Add(waitTimeout); handled.Load() < 100 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := handled.Load(); n != 100 {
		t.Fatalf("handled %d of 100", n)
	}
	stop()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Run returned, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestOutageRetriedInPlace: an unavailable storage or broker is no fault of
// the message, so it is retried in place past MaxAttempts and never
// dead-lettered, and no delivery attempt is spent.
func TestOutageRetriedInPlace(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	dlq := subscribe(t, mem, core.DeadLetterTopic("in:outage"), "dlq")
	var handled atomic.Int32
	fn := newFn("in:outage", true, func(context.Context, core.Envelope) (functions.Result, error) {
		if handled.Add(1) <= 5 {
			return functions.Result{}, functions.Unavailable(errors.New("connection refused"))
		}
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{MaxAttempts: 2})
	publish(t, mem, env("in:outage", "m1", "k"))
	events := tr.rec.waitFor(t, "ack m1")
	if want := []string{"ack m1"}; !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v (no nack during an outage)", events, want)
	}
	if n := handled.Load(); n != 6 {
		t.Fatalf("handled %d times, want 6", n)
	}
	expectNothing(t, dlq, 50*time.Millisecond)
}

// TestFailedSettlementIsTriedAgain: an ack that fails for a moment (the
// queue's database restarting, say) is tried again until it succeeds,
// rather than left unsettled with its key held.
func TestFailedSettlementIsTriedAgain(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	var fails atomic.Int32
	tr.rec.settleFault = func(op string) error {
		if op == "ack" && fails.Add(1) <= 2 {
			return errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")
		}
		return nil
	}
	fn := newFn("in:settle", true, func(context.Context, core.Envelope) (functions.Result, error) {
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:settle", "m1", "k"), env("in:settle", "m2", "k"))

	tr.rec.waitFor(t, "ack m2")
	if got, want := tr.rec.snapshot(), []string{"ack m1", "ack m1", "ack m1", "ack m2"}; !slices.Equal(got, want) {
		t.Fatalf("settlements %v, want %v", got, want)
	}
}

// TestSettlementOfARedeliveredMessageIsNotTriedAgain: a settlement the
// transport says can no longer happen (the message is delivered again) is
// not tried again; the worker goes on with the key's next message.
func TestSettlementOfARedeliveredMessageIsNotTriedAgain(t *testing.T) {
	t.Parallel()
	mem, tr := setup(t)
	var fails atomic.Int32
	tr.rec.settleFault = func(op string) error {
		if op == "ack" && fails.Add(1) == 1 {
			return fmt.Errorf("claim lapsed: %w", transport.ErrRedelivered)
		}
		return nil
	}
	fn := newFn("in:lost", true, func(context.Context, core.Envelope) (functions.Result, error) {
		return functions.Result{}, nil
	})
	start(t, tr, fn, worker.Config{})
	publish(t, mem, env("in:lost", "m1", ""))
	publish(t, mem, env("in:lost", "m2", ""))

	tr.rec.waitFor(t, "ack m1")
	tr.rec.waitFor(t, "ack m2")
	time.Sleep(3 * 100 * time.Millisecond) // past a first and second retry, were there one
	got := tr.rec.snapshot()
	slices.Sort(got)
	if want := []string{"ack m1", "ack m2"}; !slices.Equal(got, want) {
		t.Fatalf("settlements %v, want %v", got, want)
	}
}

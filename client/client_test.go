package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
)

var (
	bump  = weft.NewTask[int, int]("Counter", "bump")
	gated = weft.NewWorkflow[int, int]("Gated", "run")
	gate  = weft.NewChannel[string]("Gated", "open")
)

// gatedRegistry: the workflow runs one task, then waits for a signal on
// "open" (opened before anything else, so a signal sent after the dispatch
// is never missed). runs counts task executions.
func gatedRegistry(runs *atomic.Int32) *weft.Registry {
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, bump, func(_ weft.TaskContext, n int) (int, error) {
		runs.Add(1)
		return n + 1, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(r, gated, func(ctx weft.Context, n int) (int, error) {
		open := weft.Receive(ctx, gate)
		v, err := weft.Call(ctx, bump, n)
		if err != nil {
			return 0, err
		}
		s, err := open.Await()
		return v + len(s), err
	}))
	return r
}

func start(t *testing.T, r *weft.Registry) (*client.Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	rt, err := embedded.Start(ctx, r, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return rt.Client(), ctx
}

// TestWithIDAttaches: dispatching the same id again attaches to the
// instance: it does not run again, and every handle gets the one result.
func TestWithIDAttaches(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	h1, err := client.Dispatch(ctx, c, gated, 1, client.WithID("order-1"))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := client.Dispatch(ctx, c, gated, 100, client.WithID("order-1")) // another input: ignored
	if err != nil {
		t.Fatal(err)
	}
	if h1.WorkflowID != "order-1" || h2.WorkflowID != "order-1" {
		t.Fatalf("ids %s %s, want order-1", h1.WorkflowID, h2.WorkflowID)
	}
	if err := client.Signal(ctx, c, gate, "order-1", "abc"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*client.Handle[int]{h1, h2} {
		if v, err := h.Await(ctx); err != nil || v != 5 {
			t.Fatalf("Await = %d, %v; want 5", v, err)
		}
	}
	// After the end, a dispatch with the id attaches to the result record.
	if v, err := client.Run(ctx, c, gated, 7, client.WithID("order-1")); err != nil || v != 5 {
		t.Fatalf("Run on an ended id = %d, %v; want the recorded 5", v, err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the task ran %d times, want once", n)
	}
}

// TestAwaitTimeoutIsTheCallers: WithTimeout ends the wait, not the workflow.
func TestAwaitTimeoutIsTheCallers(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	h, err := client.Dispatch(ctx, c, gated, 1, client.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Await(ctx)
	if !errors.Is(err, weft.ErrWorkflowTimedOut) || !strings.Contains(err.Error(), "keeps running") {
		t.Fatalf("Await = %v, want a caller-side timeout", err)
	}
	if _, err := client.Run(ctx, c, gated, 1, client.WithID(h.WorkflowID), client.WithTimeout(10*time.Millisecond)); !errors.Is(err, weft.ErrWorkflowTimedOut) {
		t.Fatalf("Run with a timeout = %v, want a caller-side timeout", err)
	}
	if _, err := c.ReadResult(ctx, h.WorkflowID); !errors.Is(err, client.ErrNotEnded) {
		t.Fatalf("ReadResult = %v, want the instance still running", err)
	}
	if err := client.Signal(ctx, c, gate, h.WorkflowID, "go"); err != nil {
		t.Fatal(err)
	}
	if v, err := client.Get(c, gated, h.WorkflowID).Await(ctx); err != nil || v != 4 {
		t.Fatalf("a later Await = %d, %v; want 4", v, err)
	}
	// The answer is published before the state is written: poll.
	res, err := readResult(ctx, c, h.WorkflowID)
	if err != nil || res.State != "completed" || string(res.Value) != "4" || res.WorkflowID != h.WorkflowID || res.Workflow != "Gated" {
		t.Fatalf("ReadResult = %+v, %v", res, err)
	}
}

// readResult waits for the result record of an instance that answered.
func readResult(ctx context.Context, c *client.Client, id string) (*client.Result, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.ReadResult(ctx, id)
		if !errors.Is(err, client.ErrNotEnded) || time.Now().After(deadline) {
			return res, err
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAwaitUnknownWorkflow(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	_, err := client.Get(c, gated, "never-started").Await(ctx)
	if !errors.Is(err, weft.ErrWorkflowUnknown) {
		t.Fatalf("Await = %v, want unknown", err)
	}
	if _, err := c.ReadResult(ctx, "never-started"); !errors.Is(err, weft.ErrWorkflowUnknown) || !strings.Contains(err.Error(), "never-started") {
		t.Fatalf("ReadResult = %v, want unknown, naming the id", err)
	}
	if _, err := c.Describe(ctx, "never-started"); !errors.Is(err, weft.ErrWorkflowUnknown) || !strings.Contains(err.Error(), "never-started") {
		t.Fatalf("Describe = %v, want unknown, naming the id", err)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	h, err := client.Dispatch(ctx, c, gated, 1, client.WithTags("customer:9"), client.WithMeta(map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		WorkflowID   string            `json:"workflowId"`
		WorkflowName string            `json:"workflowName"`
		Tags         []string          `json:"tags"`
		Meta         map[string]string `json:"meta"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		raw, err := c.Describe(ctx, h.WorkflowID)
		if err == nil {
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatal(err)
			}
			break
		}
		if !errors.Is(err, weft.ErrWorkflowUnknown) || time.Now().After(deadline) {
			t.Fatalf("Describe = %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.WorkflowID != h.WorkflowID || st.WorkflowName != "Gated" || len(st.Tags) != 1 || st.Tags[0] != "customer:9" || st.Meta["k"] != "v" {
		t.Fatalf("Describe = %+v", st)
	}
}

func TestInputValidation(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	c, ctx := start(t, gatedRegistry(&runs))
	cases := map[string]error{}
	_, cases["unknown workflow"] = c.DispatchJSON(ctx, "Nope", "run", nil)
	_, cases["unknown method"] = c.DispatchJSON(ctx, "Gated", "nope", nil)
	_, cases["unknown method on an instance"] = c.DispatchMethodJSON(ctx, "Gated", "x", "nope", nil)
	for name, err := range cases {
		if !errors.Is(err, weft.ErrWorkflowUnknown) {
			t.Errorf("%s: %v, want unknown", name, err)
		}
	}
	bad := map[string]error{}
	_, bad["wrong input type"] = c.DispatchJSON(ctx, "Gated", "run", json.RawMessage(`"one"`))
	_, bad["no names"] = c.DispatchJSON(ctx, "", "", nil)
	bad["signal not JSON"] = c.SignalJSON(ctx, "Gated", "x", "open", "", json.RawMessage(`{nope`))
	bad["empty signal"] = c.SignalJSON(ctx, "Gated", "x", "open", "", nil)
	_, bad["input does not encode"] = client.Dispatch(ctx, c, weft.NewWorkflow[func(), int]("Gated", "run"), func() {})
	for name, err := range bad {
		if !errors.Is(err, weft.ErrBadInput) {
			t.Errorf("%s: %v, want bad input", name, err)
		}
	}
	if runs.Load() != 0 {
		t.Error("a rejected dispatch ran")
	}
}

// TestClientWithoutStoreOrRegistry: a bare client over a transport.
func TestClientWithoutStoreOrRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := client.New(ctx, client.Config{}); err == nil || !strings.Contains(err.Error(), "Transport") {
		t.Fatalf("New without a transport = %v, want an error naming Transport", err)
	}
	tr := memory.New()
	defer tr.Close()
	c, err := client.New(ctx, client.Config{Transport: tr, Name: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Name() != "bare" {
		t.Errorf("Name = %q", c.Name())
	}
	if _, err := c.Describe(ctx, "w"); err == nil || !strings.Contains(err.Error(), "storage") {
		t.Errorf("Describe without a store = %v, want an error saying storage is needed", err)
	}
	if _, err := c.ReadResult(ctx, "w"); err == nil || !strings.Contains(err.Error(), "storage") {
		t.Errorf("ReadResult without a store = %v, want an error saying storage is needed", err)
	}
	// Without a registry only the JSON itself is checked.
	if _, err := c.DispatchJSON(ctx, "Any", "run", json.RawMessage(`{nope`)); !errors.Is(err, weft.ErrBadInput) {
		t.Errorf("DispatchJSON of invalid JSON = %v, want bad input", err)
	}
	if _, err := c.DispatchJSON(ctx, "Any", "run", json.RawMessage(`{"ok":true}`)); err != nil {
		t.Errorf("DispatchJSON = %v", err)
	}
	if c2, err := client.New(ctx, client.Config{Transport: tr}); err != nil || !strings.HasPrefix(c2.Name(), "client-") || c2.Name() == "client-" {
		t.Errorf("default name = %v, %v", c2, err)
	} else {
		c2.Close()
	}
}

// TestClose: Close is idempotent, ends pending awaits and refuses new ones.
func TestClose(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := embedded.Start(ctx, gatedRegistry(&runs), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	c := rt.Client()
	h, err := client.Dispatch(ctx, c, gated, 1)
	if err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := h.Await(ctx)
		pending <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the await register (not required for the checks)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	select {
	case err := <-pending:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("pending Await = %v, want a closed error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a pending Await did not end on Close")
	}
	if _, err := h.Await(ctx); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Await after Close = %v, want a closed error", err)
	}
	if _, err := client.Run(ctx, c, gated, 1); err == nil {
		t.Fatal("Run after Close succeeded")
	}
}

// TestNoGoroutineLeak: runtimes and clients started, used (including an
// await cut short by a timeout and one by Close) and stopped leave no
// goroutine behind. Not parallel: it counts the process's goroutines.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		var runs atomic.Int32
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rt, err := embedded.Start(ctx, gatedRegistry(&runs), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := rt.Client()
		h, err := client.Dispatch(ctx, c, gated, 1, client.WithTimeout(10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Await(ctx); !errors.Is(err, weft.ErrWorkflowTimedOut) {
			t.Fatalf("Await = %v", err)
		}
		if err := client.Signal(ctx, c, gate, h.WorkflowID, "x"); err != nil {
			t.Fatal(err)
		}
		if v, err := client.Get(c, gated, h.WorkflowID).Await(ctx); err != nil || v != 3 {
			t.Fatalf("Await = %d, %v", v, err)
		}
		// A bare client on its own transport.
		tr := memory.New()
		bare, err := client.New(ctx, client.Config{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(bare.Close(), tr.Close()); err != nil {
			t.Fatal(err)
		}
		if err := rt.Stop(); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines before, %d after Stop:\n%s", before, now, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var other = weft.NewWorkflow[int, int]("Other", "run")

// TestIDOfAnotherWorkflowIsRefused: workflow ids are unique across
// workflow types. A client that reads states refuses the dispatch at once;
// one that cannot learns it from the state engine when it awaits.
func TestIDOfAnotherWorkflowIsRefused(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	r := gatedRegistry(&runs)
	weft.MustRegister(weft.RegisterWorkflow(r, other, func(_ weft.Context, n int) (int, error) { return n, nil }))
	tr := memory.New()
	t.Cleanup(func() { _ = tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := embedded.Start(ctx, r, embedded.Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
	}()
	c := rt.Client()
	if _, err := client.Dispatch(ctx, c, gated, 1, client.WithID("shared-1")); err != nil {
		t.Fatal(err)
	}
	for { // until the Gated instance exists
		if _, err := c.Describe(ctx, "shared-1"); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	_, err = client.Dispatch(ctx, c, other, 2, client.WithID("shared-1"))
	if !errors.Is(err, weft.ErrBadInput) || !strings.Contains(err.Error(), "instance of workflow Gated") {
		t.Fatalf("dispatch with the id of a Gated instance = %v, want bad input naming Gated", err)
	}
	blind, err := client.New(ctx, client.Config{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer blind.Close()
	if _, err := client.Run(ctx, blind, other, 2, client.WithID("shared-1")); !errors.Is(err, weft.ErrBadInput) || !strings.Contains(err.Error(), "instance of workflow Gated") {
		t.Fatalf("run without reading states = %v, want bad input naming Gated", err)
	}
	h, err := client.Dispatch(ctx, blind, other, 2, client.WithID("shared-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Await(ctx); !errors.Is(err, weft.ErrWorkflowUnknown) || !strings.Contains(err.Error(), "instance of workflow Gated") {
		t.Fatalf("await without reading states = %v, want unknown naming Gated", err)
	}
	if err := client.Signal(ctx, c, gate, "shared-1", "ab"); err != nil {
		t.Fatal(err)
	}
	if v, err := client.Get(c, gated, "shared-1").Await(ctx); err != nil || v != 4 {
		t.Fatalf("the Gated instance ended with %v, %v, want 4", v, err)
	}
}

// blipTransport is a transport whose client subscriptions first fail a
// few receives, as during an outage of the broker or its database, then
// close under their reader once.
type blipTransport struct {
	transport.Transport
	mu    sync.Mutex
	fails int
	close bool
	subs  int
}

func (b *blipTransport) Subscribe(ctx context.Context, topic string, o transport.SubscribeOptions) (transport.Subscription, error) {
	sub, err := b.Transport.Subscribe(ctx, topic, o)
	if err != nil || !strings.HasPrefix(topic, "response:") {
		return sub, err
	}
	b.mu.Lock()
	b.subs++
	b.mu.Unlock()
	return &blipSub{Subscription: sub, t: b}, nil
}

type blipSub struct {
	transport.Subscription
	t *blipTransport
}

func (s *blipSub) Receive(ctx context.Context) (transport.Delivery, error) {
	s.t.mu.Lock()
	fail, closeNow := s.t.fails > 0, s.t.fails == 0 && s.t.close
	if fail {
		s.t.fails--
	}
	if closeNow {
		s.t.close = false
	}
	s.t.mu.Unlock()
	switch {
	case fail:
		return nil, errors.New("database blip: connection reset")
	case closeNow:
		_ = s.Subscription.Close()
		return nil, transport.ErrClosed
	}
	return s.Subscription.Receive(ctx)
}

// TestClientHearsAnswersAfterAnOutage: receive errors and a subscription
// closed under the client do not stop it: it retries, subscribes again,
// says it is unhealthy meanwhile, and later awaits get their answers.
func TestClientHearsAnswersAfterAnOutage(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	tr := memory.New()
	t.Cleanup(func() { _ = tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := embedded.Start(ctx, gatedRegistry(&runs), embedded.Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
	}()
	blip := &blipTransport{Transport: tr, fails: 3, close: true}
	c, err := client.New(ctx, client.Config{Transport: blip})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sawUnhealthy := false
	for { // the listener goes through the outage
		blip.mu.Lock()
		done := blip.fails == 0 && !blip.close && blip.subs >= 2
		blip.mu.Unlock()
		if c.Healthy() != nil {
			sawUnhealthy = true
		}
		if done {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the listener never got through the outage")
		}
		time.Sleep(time.Millisecond)
	}
	h, err := client.Dispatch(ctx, c, gated, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Signal(ctx, c, gate, h.WorkflowID, "ab"); err != nil {
		t.Fatal(err)
	}
	if v, err := h.Await(ctx); err != nil || v != 4 {
		t.Fatalf("Await after the outage = %d, %v", v, err)
	}
	if err := c.Healthy(); err != nil {
		t.Errorf("Healthy after the outage: %v", err)
	}
	if !sawUnhealthy {
		t.Log("the outage was over before Healthy was asked (not an error)")
	}
}

package knative_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft/adapters/knative"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/triggers"
	storagememory "github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/transport"
	ktransport "github.com/weftio/weft/transport/knative"
	"github.com/weftio/weft/transport/knative/knativetest"
	memtransport "github.com/weftio/weft/transport/memory"
)

const waitTimeout = 10 * time.Second

// fakeFn is a Function whose behaviour each test supplies.
type fakeFn struct {
	topic  string
	handle func(ctx context.Context, in core.Envelope) (functions.Result, error)
}

func (f *fakeFn) Name() string { return "fake" }
func (f *fakeFn) Subscriptions() []functions.Subscription {
	return []functions.Subscription{{Topic: f.topic}}
}
func (f *fakeFn) Handle(ctx context.Context, in core.Envelope) (functions.Result, error) {
	return f.handle(ctx, in)
}

// sink records the events the Broker delivers to it.
type sink struct {
	mu   sync.Mutex
	envs []core.Envelope
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	env, err := ktransport.FromEvent(*e)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.envs = append(s.envs, env)
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// wait returns the first envelope received on topic.
func (s *sink) wait(t *testing.T, topic string) core.Envelope {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, e := range s.envs {
			if e.Topic == topic {
				s.mu.Unlock()
				return e
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("nothing received on %s", topic)
	return core.Envelope{}
}

// waitID returns the envelope of that id once received.
func (s *sink) waitID(t *testing.T, id string) core.Envelope {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, e := range s.envs {
			if e.ID == id {
				s.mu.Unlock()
				return e
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never received", id)
	return core.Envelope{}
}

// rig is a server of one fake function behind a test Broker, whose
// outputs (every topic but the function's) go to a recording sink.
type rig struct {
	t      *testing.T
	url    string
	broker *knativetest.Broker
	out    *sink
	srv    *knative.Server
	stop   context.CancelFunc
	ran    chan error
}

func newRig(t *testing.T, fn *fakeFn, tune func(*knative.Config)) *rig {
	t.Helper()
	broker := knativetest.New(knativetest.Options{Retry: 3, BackoffDelay: 10 * time.Millisecond})
	t.Cleanup(broker.Close)
	store := storagememory.New()
	tr, err := ktransport.New(context.Background(), ktransport.Config{Sink: broker.URL(), Store: store, Tags: store, DelayPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	out := &sink{}
	outSrv := httptest.NewServer(out)
	t.Cleanup(outSrv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := knative.Config{Functions: []functions.Function{fn}, Transport: tr, Listener: ln, ShutdownGrace: 5 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := knative.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	broker.Route(knativetest.Trigger{Name: "fn", Exact: map[string]string{ktransport.ExtTopic: fn.topic}}, url)
	broker.Route(knativetest.Trigger{Name: "out", Not: map[string]string{ktransport.ExtTopic: fn.topic}}, outSrv.URL)
	ctx, stop := context.WithCancel(context.Background())
	r := &rig{t: t, url: url, broker: broker, out: out, srv: srv, stop: stop, ran: make(chan error, 1)}
	go func() { r.ran <- srv.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.ran:
		case <-time.After(waitTimeout):
			t.Error("Run did not return after its context ended")
		}
	})
	<-srv.Ready()
	return r
}

func envelope(topic, id string) core.Envelope {
	return core.Envelope{ID: id, Source: "knative-test", SpecVersion: core.SpecVersion, Type: "test.Msg",
		Time: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), DataContentType: core.ContentTypeJSON,
		Data: []byte(`{"n":1}`), PartitionKey: "k", Topic: topic}
}

// postBinary posts env in binary mode and returns the status, body and
// Retry-After.
func (r *rig) postBinary(env core.Envelope) (int, string, string) {
	r.t.Helper()
	e, err := ktransport.ToEvent(env, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := cehttp.NewHTTPRequestFromEvent(context.Background(), r.url, e)
	if err != nil {
		r.t.Fatal(err)
	}
	return do(r.t, req)
}

// postStructured posts a structured-mode body.
func (r *rig) postStructured(body []byte) (int, string, string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	return do(r.t, req)
}

func do(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("Retry-After")
}

// TestHandledEventsPublishTheirOutputs: an envelope posted in binary mode
// and one in structured mode are both handled (200), and the outputs
// reach the Broker, with their routing extensions.
func TestHandledEventsPublishTheirOutputs(t *testing.T) {
	fn := &fakeFn{topic: "workflow-engine:W", handle: func(_ context.Context, in core.Envelope) (functions.Result, error) {
		out := envelope("task-executor:S", "out-"+in.ID)
		out.PartitionKey = "key-" + in.ID
		return functions.Result{Outputs: []core.Envelope{out}}, nil
	}}
	r := newRig(t, fn, nil)
	if code, body, _ := r.postBinary(envelope(fn.topic, "bin")); code != http.StatusOK {
		t.Fatalf("binary mode: HTTP %d %s, want 200", code, body)
	}
	structured, err := core.EncodeEnvelope(envelope(fn.topic, "struct"))
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := r.postStructured(structured); code != http.StatusOK {
		t.Fatalf("structured mode: HTTP %d %s, want 200", code, body)
	}
	for _, id := range []string{"bin", "struct"} {
		got := r.out.waitID(t, "out-"+id)
		if got.Topic != "task-executor:S" || got.PartitionKey != "key-"+id || string(got.Data) != `{"n":1}` {
			t.Errorf("output of %s at the Broker: %+v", id, got)
		}
	}
}

// TestAnswers: each outcome of the handler gets the answer the data-plane
// contract gives it, and what can never be handled is dead-lettered with
// the reason.
func TestAnswers(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	fn := &fakeFn{topic: "task-executor:S", handle: func(context.Context, core.Envelope) (functions.Result, error) {
		switch mode.Load().(string) {
		case "permanent":
			return functions.Result{}, functions.Permanent("unknown service S", nil)
		case "unavailable":
			return functions.Result{}, functions.Unavailable(errors.New("storage down"))
		case "panic":
			panic("boom")
		case "notyet":
			return functions.Result{}, &functions.NotYetError{Reason: "no state yet", After: 3 * time.Second}
		}
		return functions.Result{}, nil
	}}
	r := newRig(t, fn, nil)

	mode.Store("permanent")
	if code, body, _ := r.postBinary(envelope(fn.topic, "poison")); code != http.StatusUnprocessableEntity || !strings.Contains(body, "unknown service S") {
		t.Errorf("permanent: HTTP %d %q, want 422 with the reason", code, body)
	}
	dlq := r.out.wait(t, core.DeadLetterTopic(fn.topic))
	if dlq.ID != "poison" || !strings.Contains(dlq.DeadLetterReason, "unknown service S") {
		t.Errorf("dead-letter entry %s reason %q", dlq.ID, dlq.DeadLetterReason)
	}

	mode.Store("unavailable")
	if code, _, after := r.postBinary(envelope(fn.topic, "later")); code != http.StatusServiceUnavailable || after == "" {
		t.Errorf("unavailable: HTTP %d Retry-After %q, want 503 with Retry-After", code, after)
	}
	mode.Store("notyet")
	if code, _, after := r.postBinary(envelope(fn.topic, "early-signal")); code != http.StatusServiceUnavailable || after != "3" {
		t.Errorf("not yet: HTTP %d Retry-After %q, want 503 with Retry-After 3", code, after)
	}
	mode.Store("panic")
	if code, _, after := r.postBinary(envelope(fn.topic, "crash")); code != http.StatusServiceUnavailable || after == "" {
		t.Errorf("panic: HTTP %d Retry-After %q, want 503 with Retry-After", code, after)
	}
	mode.Store("ok")
	if code, body, _ := r.postBinary(envelope("task-executor:Other", "lost")); code != http.StatusNotFound || !strings.Contains(body, "task-executor:Other") {
		t.Errorf("unknown topic: HTTP %d %q, want 404 naming it", code, body)
	}
	if code, body, _ := r.postStructured([]byte(`{"not":"an event"`)); code != http.StatusBadRequest {
		t.Errorf("no CloudEvent: HTTP %d %q, want 400", code, body)
	}
	// A weft event whose data is not JSON: 400, and dead-lettered.
	bad, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "garbled", "source": "s", "type": "t",
		"datacontenttype": "text/plain", "data": "hello", ktransport.ExtTopic: fn.topic})
	if code, body, _ := r.postStructured(bad); code != http.StatusBadRequest || !strings.Contains(body, "datacontenttype") {
		t.Errorf("undecodable envelope: HTTP %d %q, want 400 naming the content type", code, body)
	}
	deadline := time.Now().Add(waitTimeout)
	for found := false; !found; {
		r.out.mu.Lock()
		for _, e := range r.out.envs {
			var kept struct {
				Body []byte `json:"body"`
			}
			_ = json.Unmarshal(e.Data, &kept)
			found = found || e.Topic == core.DeadLetterTopic(fn.topic) && e.Type == transport.DeadLetterType &&
				strings.Contains(e.DeadLetterReason, "datacontenttype") && strings.Contains(string(kept.Body), "garbled")
		}
		r.out.mu.Unlock()
		if !found && time.Now().After(deadline) {
			t.Fatalf("no dead-letter entry keeping the undecodable envelope, with the reason: %+v", r.out.envs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Someone else's event (no wefttopic) with no trigger configured: 422
	// naming why, and dead-lettered.
	other, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "x", "source": "shop", "type": "order.created", "data": map[string]int{"n": 1}})
	if code, body, _ := r.postStructured(other); code != http.StatusUnprocessableEntity || !strings.Contains(body, "no trigger is configured") {
		t.Errorf("foreign event: HTTP %d %q, want 422", code, body)
	}
	if e := r.out.wait(t, triggers.DeadLetterTopic("order.created")); !strings.Contains(e.DeadLetterReason, "no trigger is configured") {
		t.Errorf("dead-letter entry of the foreign event: reason %q", e.DeadLetterReason)
	}
	if code, _, _ := do(t, mustRequest(t, http.MethodGet, r.url)); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /: HTTP %d, want 405", code)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestBusyIsTooManyRequests: past MaxInFlight, an event is answered 429
// with Retry-After, and handled once a slot is free.
func TestBusyIsTooManyRequests(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	fn := &fakeFn{topic: "workflow-tag:W", handle: func(context.Context, core.Envelope) (functions.Result, error) {
		entered <- struct{}{}
		<-release
		return functions.Result{}, nil
	}}
	r := newRig(t, fn, func(c *knative.Config) { c.MaxInFlight = 1 })
	first := make(chan int, 1)
	go func() {
		code, _, _ := r.postBinary(envelope(fn.topic, "first"))
		first <- code
	}()
	<-entered
	if code, _, after := r.postBinary(envelope(fn.topic, "second")); code != http.StatusTooManyRequests || after == "" {
		t.Errorf("second while the first runs: HTTP %d Retry-After %q, want 429", code, after)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first: HTTP %d", code)
	}
	go func() { <-entered }()
	if code, _, _ := r.postBinary(envelope(fn.topic, "third")); code != http.StatusOK {
		t.Errorf("third, with a free slot: HTTP %d", code)
	}
}

// TestEarlyEnvelopeIsKeptUntilDue: an envelope delivered before its
// deliverat is answered 202, kept, and handled once due.
func TestEarlyEnvelopeIsKeptUntilDue(t *testing.T) {
	handled := make(chan time.Time, 1)
	fn := &fakeFn{topic: "workflow-delay:W", handle: func(context.Context, core.Envelope) (functions.Result, error) {
		handled <- time.Now()
		return functions.Result{}, nil
	}}
	r := newRig(t, fn, nil)
	env := envelope(fn.topic, "early")
	due := time.Now().Add(1500 * time.Millisecond)
	env.SetDeliverAt(due)
	if code, body, _ := r.postBinary(env); code != http.StatusAccepted {
		t.Fatalf("early: HTTP %d %s, want 202", code, body)
	}
	select {
	case at := <-handled:
		if at.Before(due) {
			t.Errorf("handled %v before its deliverat", due.Sub(at))
		}
	case <-time.After(waitTimeout):
		t.Fatalf("the early envelope was never handled; %s", r.broker)
	}
}

// TestProbesAndDrain: ready once serving and while the check passes; on
// shutdown, not ready at once, and the request in flight still finishes.
func TestProbesAndDrain(t *testing.T) {
	var failing atomic.Bool
	release := make(chan struct{})
	entered := make(chan struct{})
	fn := &fakeFn{topic: "task-tag:S", handle: func(context.Context, core.Envelope) (functions.Result, error) {
		close(entered)
		<-release
		return functions.Result{}, nil
	}}
	r := newRig(t, fn, func(c *knative.Config) {
		c.Check = func(context.Context) error {
			if failing.Load() {
				return errors.New("storage: connection refused")
			}
			return nil
		}
	})
	probe := func(path string) (int, string) {
		code, body, _ := do(t, mustRequest(t, http.MethodGet, r.url+path))
		return code, body
	}
	if code, _ := probe("/health/live"); code != http.StatusOK {
		t.Errorf("live: %d", code)
	}
	if code, body := probe("/health/ready"); code != http.StatusOK {
		t.Errorf("ready: %d %s", code, body)
	}
	failing.Store(true)
	if code, body := probe("/health/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("ready with the storage down: %d %q, want 503 saying why", code, body)
	}
	failing.Store(false)

	inflight := make(chan int, 1)
	go func() {
		code, _, _ := r.postBinary(envelope(fn.topic, "slow"))
		inflight <- code
	}()
	<-entered
	r.stop() // SIGTERM
	deadline := time.Now().Add(waitTimeout)
	for {
		// Not ready: a 503, or no answer at all once the listener closed.
		resp, err := http.Get(r.url + "/health/ready")
		if err != nil {
			break
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still ready %v after the shutdown began", waitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-r.ran:
		t.Fatalf("Run returned (%v) with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if code := <-inflight; code != http.StatusOK {
		t.Errorf("the request in flight at shutdown: HTTP %d, want 200", code)
	}
	select {
	case err := <-r.ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.ran <- err // for the cleanup
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return once the request in flight finished")
	}
}

// TestOutputsToTheConfiguredTransport: with a transport other than the
// Knative one (a broker of the deployment's), the events come in over
// HTTP and the outputs go to that transport.
func TestOutputsToTheConfiguredTransport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr := memtransport.New()
	defer tr.Close()
	outs, err := tr.Subscribe(ctx, "task-executor:S", transport.SubscribeOptions{Group: "executor"})
	if err != nil {
		t.Fatal(err)
	}
	fn := &fakeFn{topic: "workflow-engine:W", handle: func(_ context.Context, in core.Envelope) (functions.Result, error) {
		return functions.Result{Outputs: []core.Envelope{envelope("task-executor:S", "out-"+in.ID)}}, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := knative.New(knative.Config{Functions: []functions.Function{fn}, Transport: tr, Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { stop(); <-done }()
	<-srv.Ready()
	r := &rig{t: t, url: "http://" + ln.Addr().String()}
	if code, body, _ := r.postBinary(envelope(fn.topic, "in-1")); code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	d, err := outs.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if env, err := core.DecodeEnvelope(d.Body()); err != nil || env.ID != "out-in-1" {
		t.Errorf("output on the transport: %v %v", env.ID, err)
	}
}

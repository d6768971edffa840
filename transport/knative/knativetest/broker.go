// Package knativetest is a Broker that delivers as Knative Eventing's do,
// for tests: it accepts CloudEvents at its ingress, fans each out to the
// Triggers whose filters match, and posts it to one replica of each
// Trigger's subscriber, in parallel and in no particular order; it
// retries on 404, 408, 409, 429 and 5xx with exponential backoff (Retry
// tries at most) and hands the event to the dead-letter sink after the
// last one, or at once on another answer that is no 2xx; it may deliver
// an event twice (Options.Duplicates). A 200 answer
// carrying a CloudEvent is a reply: it is accepted like a posted event.
package knativetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Trigger routes the events whose attributes match to a subscriber.
type Trigger struct {
	Name string
	// Exact are attributes (or extensions) the event must have, with these
	// values; Prefix, values the attributes must start with. None: every
	// event.
	Exact  map[string]string
	Prefix map[string]string
	// Not excludes the events whose attributes have these values (the
	// filters' not dialect), e.g. a role's own dead-letter topics.
	Not map[string]string
}

func (tr *Trigger) matches(e *event.Event) bool {
	for k, v := range tr.Exact {
		if attr(e, k) != v {
			return false
		}
	}
	for k, v := range tr.Prefix {
		if !strings.HasPrefix(attr(e, k), v) {
			return false
		}
	}
	for k, v := range tr.Not {
		if attr(e, k) == v {
			return false
		}
	}
	return true
}

// attr reads an attribute or an extension as a string.
func attr(e *event.Event, name string) string {
	switch name {
	case "type":
		return e.Type()
	case "source":
		return e.Source()
	case "subject":
		return e.Subject()
	case "id":
		return e.ID()
	}
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// Options tunes a Broker.
type Options struct {
	// Retry is how many times a failed delivery is retried (default 10).
	Retry int
	// BackoffDelay is the first retry's delay, doubled on each retry
	// (default 20 ms), capped at MaxBackoff (default 1 s).
	BackoffDelay, MaxBackoff time.Duration
	// Parallelism is how many deliveries are in flight at once (default 32).
	Parallelism int
	// Timeout bounds one delivery (default 30 s).
	Timeout time.Duration
	// RetryAfterMax caps the delay a Retry-After answer asks for, which
	// then replaces a shorter backoff (as Knative's delivery.retryAfterMax
	// does); default 10 s.
	RetryAfterMax time.Duration
	// Duplicates is the share of accepted events (0 to 1) delivered twice
	// through each of their triggers, as an at-least-once Broker may.
	Duplicates float64
}

// Broker is a test Broker; its zero value is not usable (see New).
type Broker struct {
	opts   Options
	server *httptest.Server
	client *http.Client

	mu       sync.Mutex
	triggers []*route
	queue    []*job
	wake     chan struct{}
	closed   bool
	dead     []DeadLetter
	accepted int
	posts    map[int]int // answers seen, by status
	inFlight int         // deliveries being made, retries waiting included
	active   time.Time   // when something last happened
	done     chan struct{}
	wg       sync.WaitGroup
}

// route is a Trigger with its subscriber's replicas.
type route struct {
	Trigger
	replicas []string
}

// job is one event to deliver through one trigger.
type job struct {
	ev    *event.Event
	route *route
	tries int
}

// DeadLetter is an event the Broker gave up on, with what Knative puts in
// its knativeerror* extensions.
type DeadLetter struct {
	Event   event.Event
	Trigger string
	Code    int
	Data    string
}

// New starts a Broker on a loopback port.
func New(opts Options) *Broker {
	if opts.Retry <= 0 {
		opts.Retry = 10
	}
	if opts.BackoffDelay <= 0 {
		opts.BackoffDelay = 20 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Second
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 32
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.RetryAfterMax <= 0 {
		opts.RetryAfterMax = 10 * time.Second
	}
	b := &Broker{opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{}), posts: map[int]int{},
		client: &http.Client{Timeout: opts.Timeout}}
	b.server = httptest.NewServer(http.HandlerFunc(b.ingress))
	for range opts.Parallelism {
		b.wg.Go(b.deliverLoop)
	}
	return b
}

// URL is the ingress to post events to ($K_SINK).
func (b *Broker) URL() string { return b.server.URL }

// Route adds a Trigger delivering to the replicas' URLs (one picked at
// random for each try).
func (b *Broker) Route(t Trigger, replicas ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.triggers = append(b.triggers, &route{Trigger: t, replicas: replicas})
}

// SetReplicas replaces the replicas of the trigger named (a replica killed
// or started).
func (b *Broker) SetReplicas(trigger string, replicas ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.triggers {
		if r.Name == trigger {
			r.replicas = replicas
		}
	}
}

// DeadLetters returns the events given up on so far.
func (b *Broker) DeadLetters() []DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]DeadLetter(nil), b.dead...)
}

// Stats returns how many events were accepted, and the subscribers'
// answers by status.
func (b *Broker) Stats() (accepted int, answers map[int]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	answers = make(map[int]int, len(b.posts))
	for k, v := range b.posts {
		answers[k] = v
	}
	return b.accepted, answers
}

// Pending is how many deliveries are still to be made (retries included).
func (b *Broker) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Close stops the Broker; what it has not delivered is dropped.
func (b *Broker) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.done)
	b.mu.Unlock()
	b.server.Close()
	b.wg.Wait()
}

// ingress accepts one event (binary or structured mode): 202, or 400 when
// it is no valid CloudEvent.
func (b *Broker) ingress(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST CloudEvents", http.StatusMethodNotAllowed)
		return
	}
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := b.accept(e); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// accept queues e for every matching trigger.
func (b *Broker) accept(e *event.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("broker closed")
	}
	b.accepted++
	b.active = time.Now()
	twice := b.opts.Duplicates > 0 && rand.Float64() < b.opts.Duplicates
	for _, r := range b.triggers {
		if r.matches(e) {
			b.queue = append(b.queue, &job{ev: e, route: r})
			b.inFlight++
			if twice {
				b.queue = append(b.queue, &job{ev: e, route: r})
				b.inFlight++
			}
		}
	}
	b.signal()
	return nil
}

func (b *Broker) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// deliverLoop takes queued jobs in random order and delivers them.
func (b *Broker) deliverLoop() {
	for {
		b.mu.Lock()
		var j *job
		if n := len(b.queue); n > 0 {
			i := rand.N(n)
			j = b.queue[i]
			b.queue[i] = b.queue[n-1]
			b.queue = b.queue[:n-1]
			if len(b.queue) > 0 {
				b.signal()
			}
		}
		b.mu.Unlock()
		if j == nil {
			select {
			case <-b.done:
				return
			case <-b.wake:
			}
			continue
		}
		b.deliver(j)
	}
}

// deliver makes one try of j.
func (b *Broker) deliver(j *job) {
	b.mu.Lock()
	replicas := j.route.replicas
	b.mu.Unlock()
	status, reply, body, after := http.StatusServiceUnavailable, (*event.Event)(nil), "no replica", time.Duration(0)
	if len(replicas) > 0 {
		status, reply, body, after = b.post(replicas[rand.N(len(replicas))], j.ev)
	}
	b.mu.Lock()
	b.posts[status]++
	b.active = time.Now()
	b.mu.Unlock()
	settled := func() {
		b.mu.Lock()
		b.inFlight--
		b.active = time.Now()
		b.mu.Unlock()
	}
	switch {
	case status/100 == 2:
		if reply != nil {
			_ = b.accept(reply)
		}
		settled()
		return
	case retryable(status) && j.tries < b.opts.Retry:
		j.tries++
		delay := min(b.opts.MaxBackoff, b.opts.BackoffDelay<<(j.tries-1))
		delay = max(delay, min(after, b.opts.RetryAfterMax))
		time.AfterFunc(delay, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if !b.closed {
				b.queue = append(b.queue, j)
				b.signal()
			}
		})
	default:
		b.mu.Lock()
		b.dead = append(b.dead, DeadLetter{Event: *j.ev, Trigger: j.route.Name, Code: status, Data: body})
		b.mu.Unlock()
		settled()
	}
}

// WaitIdle returns once no event is being delivered or waiting for a retry
// and nothing has been accepted or delivered for quiet, or when ctx ends.
func (b *Broker) WaitIdle(ctx context.Context, quiet time.Duration) error {
	for {
		b.mu.Lock()
		idle := b.inFlight == 0 && time.Since(b.active) >= quiet
		b.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker not idle: %w (%s)", ctx.Err(), b)
		case <-time.After(quiet / 4):
		}
	}
}

// retryable are the answers Knative retries.
func retryable(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// post delivers e in binary mode and reads the answer (and its
// Retry-After, in seconds).
func (b *Broker) post(url string, e *event.Event) (status int, reply *event.Event, body string, retryAfter time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	req, err := cehttp.NewHTTPRequestFromEvent(ctx, url, *e)
	if err != nil {
		return http.StatusBadRequest, nil, err.Error(), 0
	}
	req.Header.Set("Prefer", "reply")
	resp, err := b.client.Do(req)
	if err != nil {
		return http.StatusBadGateway, nil, err.Error(), 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode == http.StatusOK && resp.Header.Get("ce-id") != "" || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/cloudevents") {
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if ev, err := cehttp.NewEventFromHTTPResponse(resp); err == nil {
			reply = ev
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, reply, strings.TrimSpace(string(raw)), retryAfter
}

// String describes the Broker's state, for test failures.
func (b *Broker) String() string {
	accepted, answers := b.Stats()
	var parts []string
	for code, n := range answers {
		parts = append(parts, strconv.Itoa(code)+"×"+strconv.Itoa(n))
	}
	return fmt.Sprintf("broker: %d accepted, %d pending, %d dead-lettered, answers %s", accepted, b.Pending(), len(b.DeadLetters()), strings.Join(parts, " "))
}

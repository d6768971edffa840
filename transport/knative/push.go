package knative

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// queueDepth is how many deliveries of one group may wait for a member;
// one more is answered 429.
const queueDepth = 64

// group is one consumer group on one topic in this process: its members
// take deliveries from one queue.
type group struct {
	t           *Transport
	topic, name string
	maxAttempts int
	backoff     func(int) time.Duration

	queue chan *delivery

	mu      sync.Mutex
	members int
	closed  bool
	done    chan struct{}
	pending map[*delivery]struct{} // handed to a member, not settled
}

// Subscribe joins group opts.Group on topic in this process: the events
// posted to the Transport for topic are handed to its members.
func (t *Transport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	if opts.Group == "" {
		return nil, errors.New("knative: SubscribeOptions.Group is required")
	}
	if topic == "" {
		return nil, errors.New("knative: Subscribe needs a topic")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, transport.ErrClosed
	}
	byName := t.groups[topic]
	if byName == nil {
		byName = map[string]*group{}
		t.groups[topic] = byName
	}
	g := byName[opts.Group]
	if g == nil {
		g = &group{t: t, topic: topic, name: opts.Group, maxAttempts: opts.MaxAttempts, backoff: opts.Backoff,
			queue: make(chan *delivery, queueDepth), done: make(chan struct{}), pending: map[*delivery]struct{}{}}
		if g.maxAttempts <= 0 {
			g.maxAttempts = transport.DefaultMaxAttempts
		}
		if g.backoff == nil {
			g.backoff = transport.DefaultBackoff
		}
		byName[opts.Group] = g
	}
	g.mu.Lock()
	g.members++
	g.mu.Unlock()
	return &member{g: g, done: make(chan struct{}), mine: map[*delivery]struct{}{}}, nil
}

// member is one Subscribe's share of a group.
type member struct {
	g    *group
	once sync.Once
	done chan struct{}

	mu   sync.Mutex
	mine map[*delivery]struct{}
}

func (m *member) Receive(ctx context.Context) (transport.Delivery, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.done:
			return nil, transport.ErrClosed
		case <-m.g.done:
			return nil, transport.ErrClosed
		case d := <-m.g.queue:
			if !d.take(m) {
				continue // its sender gave up, or it was settled meanwhile
			}
			return d, nil
		}
	}
}

// Close leaves the group: what the member holds unsettled is answered 503
// (delivered again); the last member's leaving ends the group.
func (m *member) Close() error {
	first := false
	m.once.Do(func() {
		first = true
		close(m.done)
	})
	if !first {
		return nil
	}
	m.mu.Lock()
	held := make([]*delivery, 0, len(m.mine))
	for d := range m.mine {
		held = append(held, d)
	}
	m.mu.Unlock()
	for _, d := range held {
		d.finish(outcome{status: http.StatusServiceUnavailable, retryAfter: time.Second, reason: "the consumer left before settling it"})
	}
	g := m.g
	g.mu.Lock()
	g.members--
	last := g.members == 0
	g.mu.Unlock()
	if last {
		g.t.mu.Lock()
		if byName := g.t.groups[g.topic]; byName[g.name] == g {
			delete(byName, g.name)
			if len(byName) == 0 {
				delete(g.t.groups, g.topic)
			}
		}
		g.t.mu.Unlock()
		g.close()
	}
	return nil
}

// close ends the group: waiting and unsettled deliveries are answered 503.
func (g *group) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	close(g.done)
	held := make([]*delivery, 0, len(g.pending))
	for d := range g.pending {
		held = append(held, d)
	}
	g.mu.Unlock()
	for _, d := range held {
		d.finish(outcome{status: http.StatusServiceUnavailable, retryAfter: time.Second, reason: "the subscription closed"})
	}
	for {
		select {
		case d := <-g.queue:
			d.finish(outcome{status: http.StatusServiceUnavailable, retryAfter: time.Second, reason: "the subscription closed"})
		default:
			return
		}
	}
}

// outcome is the answer a settled delivery gives its sender.
type outcome struct {
	status     int
	retryAfter time.Duration
	reason     string
}

// delivery is one posted event handed to one group.
type delivery struct {
	g       *group
	id      string
	body    []byte
	key     string
	attempt int

	once    sync.Once
	settled atomic.Bool
	byUser  atomic.Bool  // settled by Ack, Nack or DeadLetter (not by the transport)
	result  chan outcome // buffered: the one answer

	mu     sync.Mutex
	holder *member
	gone   bool // the sender stopped waiting
}

// take gives d to m, unless it is already settled or abandoned.
func (d *delivery) take(m *member) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone || d.settled.Load() {
		return false
	}
	d.holder = m
	m.mu.Lock()
	m.mine[d] = struct{}{}
	m.mu.Unlock()
	d.g.mu.Lock()
	d.g.pending[d] = struct{}{}
	d.g.mu.Unlock()
	return true
}

// finish settles d once.
func (d *delivery) finish(o outcome) bool {
	first := false
	d.once.Do(func() {
		first = true
		d.settled.Store(true)
		d.result <- o
		d.mu.Lock()
		m := d.holder
		d.mu.Unlock()
		if m != nil {
			m.mu.Lock()
			delete(m.mine, d)
			m.mu.Unlock()
		}
		d.g.mu.Lock()
		delete(d.g.pending, d)
		d.g.mu.Unlock()
	})
	return first
}

func (d *delivery) Body() []byte  { return d.body }
func (d *delivery) Key() string   { return d.key }
func (d *delivery) Topic() string { return d.g.topic }
func (d *delivery) Attempt() int  { return d.attempt }

// settleable reports whether d can still be settled: done is true when
// the consumer settled it already (a later settlement is a no-op); err is
// ErrRedelivered when the transport answered for it (its consumer left, or
// the sender stopped waiting), so its message comes again.
func (d *delivery) settleable() (done bool, err error) {
	switch {
	case d.byUser.Load():
		return true, nil
	case d.settled.Load():
		return true, fmt.Errorf("knative: delivery of %s on %s: %w", d.id, d.g.topic, transport.ErrRedelivered)
	}
	d.mu.Lock()
	gone := d.gone
	d.mu.Unlock()
	if gone {
		return true, fmt.Errorf("knative: delivery of %s on %s (its sender stopped waiting): %w", d.id, d.g.topic, transport.ErrRedelivered)
	}
	return false, nil
}

// settle finishes d as its consumer's settlement.
func (d *delivery) settle(o outcome) {
	if d.finish(o) {
		d.byUser.Store(true)
	}
}

func (d *delivery) Ack(context.Context) error {
	if done, err := d.settleable(); done {
		return err
	}
	d.g.t.attempts.forget(d.g, d.id)
	d.settle(outcome{status: http.StatusOK})
	return nil
}

func (d *delivery) Nack(ctx context.Context, cause error) error {
	if done, err := d.settleable(); done {
		return err
	}
	if d.attempt >= d.g.maxAttempts {
		reason := fmt.Sprintf("failed %d deliveries", d.attempt)
		if cause != nil {
			reason += ": " + cause.Error()
		}
		return d.DeadLetter(ctx, reason)
	}
	d.settle(outcome{status: http.StatusServiceUnavailable, retryAfter: d.g.backoff(d.attempt), reason: "redelivery asked"})
	return nil
}

func (d *delivery) DeadLetter(ctx context.Context, reason string) error {
	if done, err := d.settleable(); done {
		return err
	}
	dlq, entry := transport.DeadLetter(d.g.topic, d.key, d.body, reason, d.attempt, d.g.t.cfg.Now())
	env, err := core.DecodeEnvelope(entry)
	if err != nil { // cannot happen: DeadLetter encodes a valid envelope
		return err
	}
	if err := d.g.t.Publish(ctx, env); err != nil {
		return fmt.Errorf("knative: dead-letter %s to %s: %w", d.id, dlq, err)
	}
	d.g.t.attempts.forget(d.g, d.id)
	d.settle(outcome{status: http.StatusOK})
	return nil
}

// ServeHTTP receives one CloudEvent (binary or structured mode) and
// answers once every group subscribed to its topic here has settled it.
func (t *Transport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "post CloudEvents here", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, int64(t.cfg.MaxMessageSize)+64<<10)
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("event over the %d byte limit", t.cfg.MaxMessageSize), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	topic, body, key, err := Body(*e)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o := t.Deliver(r.Context(), topic, e.ID(), body, key)
	Answer(w, o.status, o.retryAfter, o.reason)
}

// Body is what a posted event delivers on its topic: an envelope, encoded;
// a RawType event's data as it was; an event that claims a topic but is no
// valid envelope, as its structured JSON (the consumer's decoding then
// says what is wrong, and dead-letters it).
func Body(e event.Event) (topic string, body []byte, key string, err error) {
	env, err := FromEvent(e)
	if errors.Is(err, ErrNotWeft) {
		return "", nil, "", err
	}
	var de *core.DecodeError
	switch {
	case e.Type() == RawType:
		topic, _ = e.Extensions()[ExtTopic].(string)
		key, _ = e.Extensions()[ExtPartitionKey].(string)
		return topic, e.Data(), key, nil
	case errors.As(err, &de):
		topic, _ = e.Extensions()[ExtTopic].(string)
		key, _ = e.Extensions()[ExtPartitionKey].(string)
		js, jerr := e.MarshalJSON()
		if jerr != nil {
			js = e.Data()
		}
		return topic, js, key, nil
	case err != nil:
		return "", nil, "", err
	}
	b, err := core.EncodeEnvelope(env)
	if err != nil {
		return "", nil, "", err
	}
	return env.Topic, b, env.PartitionKey, nil
}

// Deliver hands body to every group subscribed to topic here and waits
// for their settlements (or ctx); the result is the answer to give.
func (t *Transport) Deliver(ctx context.Context, topic, id string, body []byte, key string) Outcome {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return Outcome{status: http.StatusServiceUnavailable, retryAfter: time.Second, reason: "shutting down"}
	}
	var gs []*group
	for _, g := range t.groups[topic] {
		gs = append(gs, g)
	}
	t.mu.Unlock()
	if len(gs) == 0 {
		return Outcome{status: http.StatusNotFound, reason: fmt.Sprintf("no consumer of %s here", topic)}
	}
	ds := make([]*delivery, 0, len(gs))
	for _, g := range gs {
		d := &delivery{g: g, id: id, body: body, key: key, attempt: t.attempts.next(g, id), result: make(chan outcome, 1)}
		select {
		case g.queue <- d:
			ds = append(ds, d)
		default:
			for _, d := range ds {
				d.abandon()
			}
			return Outcome{status: http.StatusTooManyRequests, retryAfter: time.Second, reason: fmt.Sprintf("every consumer of %s is busy", topic)}
		}
	}
	worst := Outcome{status: http.StatusOK}
	for _, d := range ds {
		select {
		case o := <-d.result:
			if o.status > worst.status {
				worst = Outcome(o)
			}
		case <-ctx.Done():
			for _, d := range ds {
				d.abandon()
			}
			return Outcome{status: http.StatusServiceUnavailable, retryAfter: time.Second, reason: "the request ended first"}
		}
	}
	return worst
}

// abandon marks d as no longer awaited: a member not yet holding it skips
// it; one holding it may still settle it, to no effect.
func (d *delivery) abandon() {
	d.mu.Lock()
	d.gone = true
	d.mu.Unlock()
}

// Outcome is the answer to a delivered event.
type Outcome outcome

// Status is the HTTP status of the answer.
func (o Outcome) Status() int { return o.status }

// RetryAfter is how long the sender should wait before trying again.
func (o Outcome) RetryAfter() time.Duration { return o.retryAfter }

// Reason says why the event was not handled.
func (o Outcome) Reason() string { return o.reason }

// Answer writes an HTTP answer in the data-plane contract's terms: a
// Retry-After (whole seconds, at least 1) with 429 and 503.
func Answer(w http.ResponseWriter, status int, retryAfter time.Duration, reason string) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retryAfter.Seconds())))))
	}
	if status/100 == 2 {
		w.WriteHeader(status)
		return
	}
	http.Error(w, reason, status)
}

// attempts counts the deliveries of each event to each group, as this
// process saw them (the Broker does not say); the oldest are forgotten
// past a bound.
type attempts struct {
	mu    sync.Mutex
	max   int
	order *list.List
	by    map[attemptKey]*list.Element
}

type attemptKey struct {
	g  *group
	id string
}

type attemptEntry struct {
	key attemptKey
	n   int
}

func newAttempts(max int) *attempts {
	return &attempts{max: max, order: list.New(), by: map[attemptKey]*list.Element{}}
}

func (a *attempts) next(g *group, id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := attemptKey{g, id}
	if el, ok := a.by[k]; ok {
		e := el.Value.(*attemptEntry)
		e.n++
		a.order.MoveToBack(el)
		return e.n
	}
	a.by[k] = a.order.PushBack(&attemptEntry{key: k, n: 1})
	for a.order.Len() > a.max {
		old := a.order.Front()
		a.order.Remove(old)
		delete(a.by, old.Value.(*attemptEntry).key)
	}
	return 1
}

func (a *attempts) forget(g *group, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.by[attemptKey{g, id}]; ok {
		a.order.Remove(el)
		delete(a.by, attemptKey{g, id})
	}
}

// rawID names a raw message by its content, so a repeated PublishRaw is
// recognisably the same event.
func rawID(topic, key string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(body)
	return "raw-" + hex.EncodeToString(h.Sum(nil)[:16])
}

package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// ErrMessageTooLarge is wrapped by the error Publish and PublishRaw return
// for a body over the configured maximum size.
var ErrMessageTooLarge = transport.ErrMessageTooLarge

// Transport is the in-process transport. The zero value is not usable; call
// New.
type Transport struct {
	clock       Clock
	log         *slog.Logger
	maxSize     int
	dedupWindow int

	mu     sync.RWMutex
	topics map[string]*topic

	closed atomic.Bool
	done   chan struct{} // closed by Close, wakes every blocked Receive
}

var _ transport.Transport = (*Transport)(nil)

// New returns an empty in-process transport.
func New(opts ...Option) *Transport {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Transport{
		clock:       o.clock,
		log:         o.logger,
		maxSize:     o.maxSize,
		dedupWindow: o.dedupWindow,
		topics:      make(map[string]*topic),
		done:        make(chan struct{}),
	}
}

// Capabilities reports per-key order, delay and dead-lettering, without
// durability.
func (t *Transport) Capabilities() transport.Capabilities {
	return transport.Capabilities{
		KeyedOrder:     true,
		Delay:          true,
		DeadLetter:     true,
		Durable:        false,
		MaxMessageSize: t.maxSize,
	}
}

// encoded is one envelope of a batch, checked and ready to enqueue.
type encoded struct {
	topic, id, key string
	p              *payload
	at             time.Time
}

// Publish encodes and enqueues every envelope. The whole batch is checked
// before anything is enqueued, so an invalid or oversized envelope leaves
// nothing published. An envelope whose ID is in the topic's dedup window is
// dropped silently.
func (t *Transport) Publish(ctx context.Context, envs ...core.Envelope) error {
	if t.closed.Load() {
		return transport.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var small [4]encoded
	batch := small[:0]
	for i, e := range envs {
		// The defaults and checks of core.EncodeEnvelope, which the
		// envelope may skip (see payload).
		if e.SpecVersion == "" {
			e.SpecVersion = core.SpecVersion
		}
		if e.DataContentType == "" {
			e.DataContentType = core.ContentTypeJSON
		}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("memory: publish envelope %d of %d: %w", i+1, len(envs), err)
		}
		p, err := newPayload(e, t.maxSize)
		if err != nil {
			return fmt.Errorf("memory: publish envelope %d of %d: %w", i+1, len(envs), err)
		}
		if !p.hasEnv {
			if err := t.checkSize(e.Topic, len(p.body)); err != nil {
				return fmt.Errorf("memory: publish envelope %s: %w", e.ID, err)
			}
		}
		batch = append(batch, encoded{topic: e.Topic, id: e.ID, key: e.PartitionKey, p: p, at: e.DeliverAtTime()})
	}
	now := t.clock.Now()
	for _, m := range batch {
		t.enqueue(m.topic, m.id, m.key, m.p, m.at, now)
	}
	return nil
}

// PublishRaw enqueues a copy of body for immediate delivery, without
// validation or deduplication.
func (t *Transport) PublishRaw(ctx context.Context, topicName, key string, body []byte) error {
	if t.closed.Load() {
		return transport.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if topicName == "" {
		return errors.New("memory: publish raw: empty topic")
	}
	if err := t.checkSize(topicName, len(body)); err != nil {
		return fmt.Errorf("memory: publish raw: %w", err)
	}
	t.enqueue(topicName, "", key, rawPayload(append([]byte(nil), body...)), time.Time{}, t.clock.Now())
	return nil
}

func (t *Transport) checkSize(topicName string, n int) error {
	if t.maxSize > 0 && n > t.maxSize {
		return fmt.Errorf("%w: %d bytes for topic %q exceeds the %d byte limit", ErrMessageTooLarge, n, topicName, t.maxSize)
	}
	return nil
}

func (t *Transport) enqueue(topicName, id, key string, p *payload, at, now time.Time) {
	if !t.topic(topicName).publish(id, key, p, at, now) {
		t.log.Debug("dropped duplicate envelope", "topic", topicName, "id", id)
	}
}

// Subscribe joins opts.Group on topic, creating the group if needed.
func (t *Transport) Subscribe(ctx context.Context, topicName string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	if t.closed.Load() {
		return nil, transport.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case topicName == "":
		return nil, errors.New("memory: subscribe: empty topic")
	case opts.Group == "":
		return nil, fmt.Errorf("memory: subscribe to %q: SubscribeOptions.Group is required", topicName)
	case opts.MaxAttempts < 0:
		return nil, fmt.Errorf("memory: subscribe to %q: SubscribeOptions.MaxAttempts is %d, want >= 0", topicName, opts.MaxAttempts)
	}
	g, err := t.topic(topicName).join(t, opts.Group, opts.Keyed)
	if err != nil {
		return nil, err
	}
	s := &subscription{
		g:           g,
		tr:          t,
		maxAttempts: opts.MaxAttempts,
		backoff:     opts.Backoff,
		done:        make(chan struct{}),
	}
	if s.maxAttempts == 0 {
		s.maxAttempts = transport.DefaultMaxAttempts
	}
	if s.backoff == nil {
		s.backoff = transport.DefaultBackoff
	}
	return s, nil
}

// Close stops every subscription and timer. Messages still queued are
// discarded. Calling Close again is a no-op.
func (t *Transport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	close(t.done)
	t.mu.RLock()
	topics := make([]*topic, 0, len(t.topics))
	for _, tp := range t.topics {
		topics = append(topics, tp)
	}
	t.mu.RUnlock()
	for _, tp := range topics {
		for _, g := range tp.snapshotGroups() {
			g.shutdown()
		}
	}
	return nil
}

// HasSubscription reports whether a group has subscribed to the topic
// (see transport.SubscriptionChecker).
func (t *Transport) HasSubscription(ctx context.Context, topicName string) (bool, error) {
	if t.closed.Load() {
		return false, transport.ErrClosed
	}
	t.mu.RLock()
	tp := t.topics[topicName]
	t.mu.RUnlock()
	return tp != nil && len(tp.snapshotGroups()) > 0, nil
}

// topic returns the named topic, creating it on first use.
func (t *Transport) topic(name string) *topic {
	t.mu.RLock()
	tp := t.topics[name]
	t.mu.RUnlock()
	if tp != nil {
		return tp
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tp = t.topics[name]; tp == nil {
		tp = newTopic(name, t.dedupWindow)
		t.topics[name] = tp
	}
	return tp
}

// deadLetter writes the entry for a message given up on. It runs without any
// group lock held: the dead-letter topic has groups and locks of its own.
func (t *Transport) deadLetter(g *group, m *message, reason string, attempts int) error {
	if t.closed.Load() {
		return transport.ErrClosed
	}
	now := t.clock.Now()
	dlq, entry := transport.DeadLetter(g.topic, m.key, m.p.Body(), reason, attempts, now)
	t.log.Info("message dead-lettered",
		"topic", g.topic, "group", g.name, "dlq", dlq, "attempts", attempts, "reason", reason)
	// Dead-letter entries skip the size limit (the entry is a little larger
	// than an accepted original) and deduplication (two failures of
	// identical bytes are two entries).
	t.enqueue(dlq, "", m.key, rawPayload(entry), time.Time{}, now)
	return nil
}

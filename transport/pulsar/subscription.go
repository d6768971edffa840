package pulsar

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
)

// subscription is one member of a group. A pump goroutine moves messages
// from the Pulsar consumer into the member's own queues:
//
//   - ready holds what Receive hands out next;
//   - on a keyed subscription, lanes holds, per partition key, the messages
//     waiting behind the key's active one (ready, in flight, or waiting out
//     a nack backoff). A key has a lane exactly while it has an active
//     message, so at most one message per key is out at a time, in the
//     order the broker dispatched them. Key_Shared sends every message of a
//     key to one member (and, when keys move between members, holds them
//     back until the old member has acknowledged its share), so per-member
//     lanes give per-group order;
//   - a nacked message is redelivered from here after the backoff, keeping
//     its key blocked; the broker's own nack redelivery would let later
//     messages of the key overtake it.
//
// Everything held is unacknowledged at the broker, so when the member closes
// (or its process dies) the broker redelivers it to the other members.
type subscription struct {
	t           *Transport
	topic       string
	group       string
	keyed       bool
	maxAttempts int
	backoff     func(int) time.Duration
	consumer    pulsar.Consumer
	queue       int // how many ready messages the pump lets wait

	mu      sync.Mutex
	ready   fifo[*message]
	lanes   map[string]*fifo[*message]
	held    map[msgKey]struct{} // every message the member holds, to drop broker redeliveries of them
	timers  map[*time.Timer]struct{}
	wake    chan struct{} // closed and replaced when ready gains a message
	room    chan struct{} // non-nil while the pump waits for ready to shrink
	closed  bool
	failure error // why the consumer stopped, if not by Close

	done      chan struct{} // closed once the member is closed (or failed)
	stopPump  context.CancelFunc
	pumpCtx   context.Context
	pumped    chan struct{}
	closeOnce sync.Once
}

// message is one Pulsar message as this member sees it.
type message struct {
	msg      pulsar.Message
	id       msgKey
	key      string
	attempts int // deliveries so far, counting the broker's redeliveries
}

// msgKey identifies a message within a topic.
type msgKey struct {
	ledger, entry    int64
	batch, partition int32
}

func keyOf(id pulsar.MessageID) msgKey {
	return msgKey{id.LedgerID(), id.EntryID(), id.BatchIdx(), id.PartitionIdx()}
}

func newSubscription(t *Transport, topic string, opts transport.SubscribeOptions, c pulsar.Consumer, queue int) *subscription {
	s := &subscription{
		queue:       queue,
		t:           t,
		topic:       topic,
		group:       opts.Group,
		keyed:       opts.Keyed,
		maxAttempts: opts.MaxAttempts,
		backoff:     opts.Backoff,
		consumer:    c,
		held:        make(map[msgKey]struct{}),
		timers:      make(map[*time.Timer]struct{}),
		wake:        make(chan struct{}),
		done:        make(chan struct{}),
		pumped:      make(chan struct{}),
	}
	if s.maxAttempts == 0 {
		s.maxAttempts = transport.DefaultMaxAttempts
	}
	if s.backoff == nil {
		s.backoff = transport.DefaultBackoff
	}
	if s.keyed {
		s.lanes = make(map[string]*fifo[*message])
	}
	s.pumpCtx, s.stopPump = context.WithCancel(context.Background())
	return s
}

// pump receives from the consumer until the member closes. It stops taking
// messages while ready is full (the receiver queue size), so a member
// nobody receives from does not buffer without bound; messages waiting in
// lanes are bounded by the broker's maxUnackedMessagesPerConsumer.
func (s *subscription) pump() {
	defer close(s.pumped)
	ctx := s.pumpCtx
	for s.waitRoom(ctx) {
		msg, err := s.consumer.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.fail(err)
			}
			return
		}
		s.arrive(msg)
	}
}

// waitRoom blocks while ready is full; false once ctx ends.
func (s *subscription) waitRoom(ctx context.Context) bool {
	s.mu.Lock()
	for s.ready.len() >= s.queue && !s.closed {
		ch := make(chan struct{})
		s.room = ch
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return ctx.Err() == nil
}

// arrive takes in a message from the broker.
func (s *subscription) arrive(msg pulsar.Message) {
	id := keyOf(msg.ID())
	at := deliverAt(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if _, dup := s.held[id]; dup {
		// The broker redelivered (after a reconnection) a message this
		// member still holds: the copy held is the one to settle.
		return
	}
	s.held[id] = struct{}{}
	m := &message{msg: msg, id: id, key: msg.Key(), attempts: int(msg.RedeliveryCount())}
	// The broker may dispatch a delayed message a little early (its
	// instants are milliseconds, and a lax broker rounds to its tick): it
	// waits here, outside its key's lane, until due.
	if wait := time.Until(at); wait > 0 {
		s.after(wait, func() { s.visible(m) })
		return
	}
	s.visible(m)
}

// deliverAt returns the instant a delayed message is due (zero if none).
func deliverAt(msg pulsar.Message) time.Time {
	v, ok := msg.Properties()[propDeliverAt]
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// visible queues a message that may now be delivered: behind its key's
// active message if it has one, else in ready. s.mu is held.
func (s *subscription) visible(m *message) {
	if s.ordered(m) {
		if q := s.lanes[m.key]; q != nil {
			q.push(m)
			return
		}
		s.lanes[m.key] = &fifo[*message]{}
	}
	s.pushReady(m)
}

func (s *subscription) ordered(m *message) bool { return s.keyed && m.key != "" }

// pushReady makes m the last ready message and wakes the waiting
// Receives. s.mu is held.
func (s *subscription) pushReady(m *message) {
	s.ready.push(m)
	close(s.wake)
	s.wake = make(chan struct{})
}

// after runs fn with s.mu held once d has passed, unless the member closes
// first. s.mu is held.
func (s *subscription) after(d time.Duration, fn func()) {
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		delete(s.timers, tm)
		fn()
	})
	s.timers[tm] = struct{}{}
}

// Receive hands out the next ready message.
func (s *subscription) Receive(ctx context.Context) (transport.Delivery, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.closed {
			err := s.closedErr()
			s.mu.Unlock()
			return nil, err
		}
		if m, ok := s.ready.pop(); ok {
			m.attempts++
			d := &delivery{s: s, m: m, attempt: m.attempts}
			if s.room != nil && s.ready.len() < s.queue {
				close(s.room)
				s.room = nil
			}
			s.mu.Unlock()
			return d, nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
		case <-wake:
		}
	}
}

// closedErr is what operations on a closed member return. s.mu is held.
func (s *subscription) closedErr() error {
	if s.failure != nil {
		return fmt.Errorf("%w: the consumer of %s (group %s) stopped: %v", transport.ErrClosed, s.topic, s.group, s.failure)
	}
	return transport.ErrClosed
}

// retry makes m ready again after delay; its key stays blocked meanwhile.
func (s *subscription) retry(m *message, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if delay <= 0 {
		s.pushReady(m)
		return
	}
	s.after(delay, func() { s.pushReady(m) })
}

// finish forgets a settled message and lets the next one of its key go.
func (s *subscription) finish(m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	delete(s.held, m.id)
	if !s.ordered(m) {
		return
	}
	q := s.lanes[m.key]
	if next, ok := q.pop(); ok {
		s.pushReady(next)
		return
	}
	delete(s.lanes, m.key)
}

// fail marks the member closed because its consumer stopped under it.
func (s *subscription) fail(err error) {
	s.t.log.Warn("pulsar consumer stopped", "topic", s.topic, "group", s.group, "error", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.failure = err
		s.shutdown()
	}
}

// shutdown marks the member closed and drops what it holds (the broker
// redelivers all of it once the consumer closes). s.mu is held.
func (s *subscription) shutdown() {
	s.closed = true
	close(s.done)
	for tm := range s.timers {
		tm.Stop()
	}
	s.timers = nil
	s.ready = fifo[*message]{}
	s.lanes = nil
	s.held = nil
	if s.room != nil {
		close(s.room)
		s.room = nil
	}
}

// Close leaves the group: blocked Receives return ErrClosed, and the
// messages the member held, delivered or not, go back to the broker for the
// other members. Calling Close again is a no-op.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		if !s.closed {
			s.shutdown()
		}
		s.mu.Unlock()
		s.stopPump()
		<-s.pumped
		s.consumer.Close()
		s.t.forget(s)
	})
	return nil
}

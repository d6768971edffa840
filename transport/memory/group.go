package memory

import (
	"sync"
	"time"
)

// message is one message as seen by one group: each group keeps its own
// attempt count and position, the payload is shared.
type message struct {
	p       *payload
	key     string
	seq     uint64    // arrival order in the group, breaks ties in delayHeap
	at      time.Time // instant it becomes visible, while in delayHeap
	attempt int       // deliveries so far
	retry   bool      // in delayHeap for a redelivery, not a first arrival
}

// keyQueue holds the visible messages of one partition key of a keyed group.
// Only its head is ever ready or in flight, which gives per-key order and at
// most one in flight without scanning other keys.
type keyQueue struct {
	msgs ring[*message]
	busy bool // the head is in flight or waiting out a redelivery backoff
}

// group is one consumer group of a topic. One mutex guards all of it; every
// operation under it is O(1) except timer work, which is O(log n).
type group struct {
	tr    *Transport
	topic string
	name  string
	keyed bool

	mu       sync.Mutex
	seq      uint64
	ready    ring[*message] // deliverable now, oldest first
	keys     map[string]*keyQueue
	spare    []*keyQueue // recycled key queues: keys come and go constantly
	delayed  delayHeap
	timer    Timer
	timerAt  time.Time
	timerGen uint64 // tells a superseded timer callback to do nothing
	waiters  waitList
	closed   bool
}

const maxSpareKeyQueues = 1024

func newGroup(t *Transport, topicName, name string, keyed bool) *group {
	g := &group{tr: t, topic: topicName, name: name, keyed: keyed}
	if keyed {
		g.keys = make(map[string]*keyQueue)
	}
	return g
}

// arrive adds a newly published message, visible at at (zero: now).
func (g *group) arrive(p *payload, key string, at, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.tr.closed.Load() {
		return
	}
	g.seq++
	m := &message{p: p, key: key, seq: g.seq}
	if at.After(now) {
		m.at = at
		g.schedule(m, now)
		return
	}
	g.visible(m)
}

func (g *group) ordered(m *message) bool { return g.keyed && m.key != "" }

// visible queues a message that may now be delivered.
func (g *group) visible(m *message) {
	if g.ordered(m) {
		q := g.keys[m.key]
		if q == nil {
			q = g.newKeyQueue()
			g.keys[m.key] = q
		}
		q.msgs.push(m)
		if q.busy || q.msgs.len() > 1 {
			return // it waits behind the head of its key
		}
	}
	g.makeReady(m)
}

func (g *group) makeReady(m *message) {
	g.ready.push(m)
	g.waiters.wakeOne()
}

// take hands the oldest ready message to s. g.ready must not be empty.
func (g *group) take(s *subscription) *delivery {
	m := g.ready.pop()
	if g.ordered(m) {
		g.keys[m.key].busy = true
	}
	m.attempt++
	d := &delivery{g: g, m: m, sub: s, attempt: m.attempt}
	s.inflight.push(d)
	return d
}

// finish removes a settled (acked or dead-lettered) message and lets the
// next message of its key go.
func (g *group) finish(m *message) {
	if !g.ordered(m) {
		return
	}
	q := g.keys[m.key]
	q.msgs.pop() // m: only a key's head is ever in flight
	q.busy = false
	if q.msgs.len() > 0 {
		g.makeReady(q.msgs.peek())
		return
	}
	delete(g.keys, m.key)
	if len(g.spare) < maxSpareKeyQueues {
		g.spare = append(g.spare, q)
	}
}

func (g *group) newKeyQueue() *keyQueue {
	if n := len(g.spare); n > 0 {
		q := g.spare[n-1]
		g.spare = g.spare[:n-1]
		return q
	}
	return &keyQueue{}
}

// retry redelivers m at at. On a keyed group m stays the head of its key, so
// the key stays blocked until then.
func (g *group) retry(m *message, at, now time.Time) {
	if !at.After(now) {
		g.redeliver(m)
		return
	}
	m.retry = true
	m.at = at
	g.schedule(m, now)
}

// redeliver makes a message that was already delivered ready again.
func (g *group) redeliver(m *message) {
	m.retry = false
	if g.ordered(m) {
		g.keys[m.key].busy = false
	}
	g.makeReady(m)
}

func (g *group) schedule(m *message, now time.Time) {
	g.delayed.push(m)
	if g.timer == nil || m.at.Before(g.timerAt) {
		g.arm(m.at, now)
	}
}

// arm sets the group's single timer for at, replacing any earlier one.
func (g *group) arm(at, now time.Time) {
	if g.timer != nil {
		g.timer.Stop()
	}
	g.timerGen++
	gen := g.timerGen
	g.timerAt = at
	g.timer = g.tr.clock.AfterFunc(at.Sub(now), func() { g.fire(gen) })
}

// fire moves every due message out of the delay heap and re-arms the timer
// for the next one.
func (g *group) fire(gen uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || gen != g.timerGen {
		return
	}
	g.timer = nil
	now := g.tr.clock.Now()
	for len(g.delayed) > 0 && !g.delayed.peek().at.After(now) {
		m := g.delayed.pop()
		if m.retry {
			g.redeliver(m)
		} else {
			g.visible(m)
		}
	}
	if len(g.delayed) > 0 {
		g.arm(g.delayed.peek().at, now)
	}
}

// abandon withdraws a waiter whose Receive gave up. If it had already been
// signalled, the signal is passed on so a ready message is not stranded.
func (g *group) abandon(w *waiter) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.queued {
		g.waiters.remove(w)
		return
	}
	select {
	case <-w.ch:
	default:
	}
	if g.ready.len() > 0 {
		g.waiters.wakeOne()
	}
}

// shutdown stops the timer when the transport closes.
func (g *group) shutdown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.timerGen++
}

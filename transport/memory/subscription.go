package memory

import (
	"context"
	"time"

	"github.com/weftio/weft/transport"
)

// subscription is one member of a group.
type subscription struct {
	g           *group
	tr          *Transport
	maxAttempts int
	backoff     func(attempt int) time.Duration
	done        chan struct{} // closed by Close, wakes this member's Receive calls

	// Guarded by g.mu.
	closed   bool
	inflight deliveryList
}

// Receive returns the oldest ready message of the group. It blocks on a
// per-call waiter rather than polling, and only one waiter is woken per
// message.
func (s *subscription) Receive(ctx context.Context) (transport.Delivery, error) {
	g := s.g
	var w *waiter
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.tr.closed.Load() {
			return nil, transport.ErrClosed
		}
		g.mu.Lock()
		if s.closed {
			g.mu.Unlock()
			return nil, transport.ErrClosed
		}
		if g.ready.len() > 0 {
			d := g.take(s)
			g.mu.Unlock()
			return d, nil
		}
		if w == nil {
			w = &waiter{ch: make(chan struct{}, 1)}
		}
		g.waiters.push(w)
		g.mu.Unlock()
		select {
		case <-w.ch:
			continue
		case <-ctx.Done():
		case <-s.done:
		case <-s.tr.done:
		}
		g.abandon(w)
		// The checks at the top of the loop return the matching error.
	}
}

// Close leaves the group. Deliveries not yet settled become ready again for
// the other members (or for the next member to join).
func (s *subscription) Close() error {
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	for d := s.inflight.head; d != nil; {
		next := d.next
		d.state = released
		d.prev, d.next = nil, nil
		if !g.closed {
			g.redeliver(d.m)
		}
		d = next
	}
	s.inflight = deliveryList{}
	return nil
}

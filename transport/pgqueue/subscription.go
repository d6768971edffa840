package pgqueue

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftio/weft/transport"
)

// subscription is one member of a consumer group. Its claims carry a random
// token, so Close can hand exactly its unsettled messages back.
type subscription struct {
	t           *Transport
	topic       string
	wake        string // wakeKey(topic)
	group       groupInfo
	maxAttempts int
	backoff     func(attempt int) time.Duration
	token       int64

	ops       gate          // claims and settlements in progress
	done      chan struct{} // closed by Close: wakes this member's Receive calls
	closeOnce sync.Once
	closeErr  error
}

var _ transport.Subscription = (*subscription)(nil)

// HasSubscription reports whether a consumer group has subscribed to topic
// (see transport.SubscriptionChecker); groups are kept in the database, so
// one that subscribed once counts whether or not a member runs now.
func (t *Transport) HasSubscription(ctx context.Context, topic string) (bool, error) {
	if t.closing() {
		return false, transport.ErrClosed
	}
	ctx, stop := t.bind(ctx)
	defer stop()
	var ok bool
	if err := t.pool.QueryRow(ctx, t.q.anyGroup, topic).Scan(&ok); err != nil {
		return false, t.fail(ctx, fmt.Sprintf("look up the groups of %q", topic), err)
	}
	return ok, nil
}

// Subscribe joins opts.Group on topic, creating the group if needed.
func (t *Transport) Subscribe(ctx context.Context, topic string, opts transport.SubscribeOptions) (transport.Subscription, error) {
	if !t.ops.enter() {
		return nil, transport.ErrClosed
	}
	defer t.ops.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case topic == "":
		return nil, errors.New("pgqueue: subscribe: empty topic")
	case opts.Group == "":
		return nil, fmt.Errorf("pgqueue: subscribe to %q: SubscribeOptions.Group is required", topic)
	case opts.MaxAttempts < 0:
		return nil, fmt.Errorf("pgqueue: subscribe to %q: SubscribeOptions.MaxAttempts is %d, want >= 0", topic, opts.MaxAttempts)
	}
	if err := checkText("topic", topic); err != nil {
		return nil, fmt.Errorf("pgqueue: subscribe: %w", err)
	}
	if err := checkText("group", opts.Group); err != nil {
		return nil, fmt.Errorf("pgqueue: subscribe to %q: %w", topic, err)
	}
	g, err := t.joinGroup(ctx, topic, opts.Group, opts.Keyed)
	if err != nil {
		return nil, err
	}
	s := &subscription{
		t:           t,
		topic:       topic,
		wake:        wakeKey(topic),
		group:       g,
		maxAttempts: opts.MaxAttempts,
		backoff:     opts.Backoff,
		token:       newToken(),
		done:        make(chan struct{}),
	}
	if s.maxAttempts == 0 {
		s.maxAttempts = transport.DefaultMaxAttempts
	}
	if s.backoff == nil {
		s.backoff = transport.DefaultBackoff
	}
	t.signals.join(s.wake, g.id)
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	return s, nil
}

// newToken returns a random non-zero claim token.
func newToken() int64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if v := int64(binary.LittleEndian.Uint64(b[:]) >> 1); v != 0 {
			return v
		}
	}
}

// Receive claims the group's next deliverable message. It blocks, without
// holding a connection, until one is available, ctx ends or the
// subscription closes. A claim in progress when ctx ends is finished first,
// and its message returned, so a cancelled Receive never strands a claim.
func (s *subscription) Receive(ctx context.Context) (transport.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.ops.isClosed() {
		return nil, transport.ErrClosed
	}
	sig := s.t.signals
	w := sig.enqueue(s.wake, s.group.id)
	defer sig.remove(w)
	contended := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.ops.isClosed() {
			return nil, transport.ErrClosed
		}
		w.consume()
		res, err := s.claim()
		switch {
		case err != nil:
			return nil, err
		case res.delivery != nil:
			// There may be more: let the next waiter look.
			sig.wakeGroup(s.wake, s.group.id)
			return res.delivery, nil
		case res.changed:
			contended = 0
			continue
		case res.contended:
			// Visible rows exist but another claimer holds them for a
			// moment: look again shortly, not after the next event.
			contended++
			err = s.sleep(ctx, w, contentionPause(contended))
		case !sig.isHead(w):
			// The head keeps the timers; the others wait to be woken.
			contended = 0
			err = s.sleep(ctx, w, -1)
		default:
			contended = 0
			err = s.wait(ctx, w, res.due)
		}
		if err != nil {
			return nil, err
		}
	}
}

func contentionPause(n int) time.Duration {
	return min(time.Millisecond<<min(n-1, 5), 20*time.Millisecond)
}

// wait blocks the group's head waiter until something may have become
// deliverable: a wake-up, the instant the next hidden row becomes visible
// (due, negative for none), a poll (per Mode), or at the latest one
// VisibilityTimeout, which catches claims of consumers that died unseen.
func (s *subscription) wait(ctx context.Context, w *waiter, due time.Duration) error {
	cfg := s.t.cfg
	start := time.Now()
	lookAt := start.Add(cfg.VisibilityTimeout)
	if due >= 0 {
		// The server's instant has passed once we look; a millisecond of
		// margin keeps a clock tick from making us look a hair early.
		lookAt = earliest(lookAt, start.Add(due+time.Millisecond))
	}
	for {
		at := lookAt
		if cfg.Mode != EventDrivenOnly {
			at = earliest(at, time.Now().Add(cfg.PollInterval))
		}
		woken, err := s.sleepUntil(ctx, w, at)
		if err != nil || woken || !at.Before(lookAt) {
			return err
		}
		if cfg.Mode == PollingOnly || s.t.listener.quiet(cfg.FallbackThreshold) {
			return nil
		}
		// Hybrid with a listener that hears notifications: no poll needed.
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sleep waits for d (negative: no limit), a wake-up, ctx or a Close.
func (s *subscription) sleep(ctx context.Context, w *waiter, d time.Duration) error {
	var at time.Time
	if d >= 0 {
		at = time.Now().Add(d)
	}
	_, err := s.sleepUntil(ctx, w, at)
	return err
}

// sleepUntil waits until at (zero: no limit), a wake-up (woken), ctx or a
// Close. A wake-up uses its token up: the caller looks next.
func (s *subscription) sleepUntil(ctx context.Context, w *waiter, at time.Time) (woken bool, err error) {
	var timeout <-chan time.Time
	if !at.IsZero() {
		timer := time.NewTimer(max(time.Until(at), 0))
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-timeout:
		return false, nil
	case <-w.ch:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-s.done:
		return false, transport.ErrClosed
	case <-s.t.done:
		return false, transport.ErrClosed
	}
}

// Close leaves the group: Receive calls return ErrClosed, and the messages
// this member claimed but did not settle become available to the other
// members at once (their settlement then returns ErrClosed).
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		t := s.t
		// Claims and settlements in progress finish first, so none
		// commits after the release below.
		idle := s.ops.close()
		if t.closing() {
			t.waitIdle(idle)
		} else {
			<-idle
		}
		// No claim of s is renewed from here on; the release below hands
		// them back.
		t.leases.dropAll(s)
		if t.ctx.Err() == nil {
			ctx, cancel := context.WithTimeout(t.ctx, closeGrace)
			defer cancel()
			if _, err := t.pool.Exec(ctx, t.q.release, s.token, t.channel, s.wake); err != nil {
				s.closeErr = t.fail(ctx, fmt.Sprintf("close subscription to %q: release its claims", s.topic), err)
			}
		}
		t.mu.Lock()
		delete(t.subs, s)
		t.mu.Unlock()
		t.signals.leave(s.wake, s.group.id)
		t.signals.wakeGroup(s.wake, s.group.id)
	})
	return s.closeErr
}

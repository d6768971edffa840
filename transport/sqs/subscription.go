package sqs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/weftio/weft/transport"
)

// bufferSize is how many received messages a subscription holds that no
// Receive has taken yet: one receive call's worth.
const bufferSize = maxBatchEntries

// maxReleased bounds the record of messages a subscription made visible
// again without handing them out.
const maxReleased = 10_000

// subscription is one member of a consumer group: a poller that receives
// from the group's queue while a Receive waits and nothing is buffered,
// and a heartbeat that keeps what it holds hidden.
//
// With lanes (a keyed subscription on a FIFO queue), the messages of one
// message group are handed out one at a time: SQS may return several of a
// group in one receive call, and the next waits until the one before is
// settled. A Nack makes the waiting ones visible again, so that SQS,
// which hands out nothing of a group while one of its messages is hidden,
// delivers them after the nacked one, in order.
type subscription struct {
	t     *Transport
	topic string
	q     queueRef
	opts  transport.SubscribeOptions
	lanes bool

	mu      sync.Mutex
	closed  bool
	done    chan struct{} // closed by close
	changed chan struct{} // closed and replaced on every change waited for
	waiting int           // Receive calls waiting
	ready   []*delivery   // may be handed out
	// lanes: the delivery of each message group that is ready or handed
	// out, and those of the group received behind it.
	lead   map[string]*delivery
	behind map[string][]*delivery
	held   map[*delivery]struct{} // received and not settled: buffered or handed out
	// released counts, per message id, how often this subscription made
	// a message visible again without handing it out, which SQS counts as
	// a receive all the same: Attempt leaves them out.
	released map[string]int
	timers   map[*time.Timer]struct{} // Nacks with a backoff under a second
}

func newSubscription(t *Transport, topic string, q queueRef, opts transport.SubscribeOptions, lanes bool) *subscription {
	return &subscription{
		t: t, topic: topic, q: q, opts: opts, lanes: lanes,
		done:     make(chan struct{}),
		changed:  make(chan struct{}),
		lead:     map[string]*delivery{},
		behind:   map[string][]*delivery{},
		held:     map[*delivery]struct{}{},
		released: map[string]int{},
		timers:   map[*time.Timer]struct{}{},
	}
}

// notify wakes Receive calls and the poller. The caller holds mu.
func (s *subscription) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *subscription) buffered() int {
	n := len(s.ready)
	for _, b := range s.behind {
		n += len(b)
	}
	return n
}

// Receive hands out the next delivery, waiting for one.
func (s *subscription) Receive(ctx context.Context) (transport.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting++
	defer func() { s.waiting-- }()
	s.notify() // demand, for the poller
	for {
		if s.closed {
			return nil, transport.ErrClosed
		}
		if len(s.ready) > 0 {
			d := s.ready[0]
			s.ready[0] = nil
			s.ready = s.ready[1:]
			s.notify() // room in the buffer
			return d, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			return nil, ctx.Err()
		}
		s.mu.Lock()
	}
}

// Close leaves the group: what the subscription holds, handed out or
// not, becomes visible again at once, for the other members.
func (s *subscription) Close() error {
	s.close()
	return nil
}

func (s *subscription) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	receipts := make([]string, 0, len(s.held))
	for d := range s.held {
		receipts = append(receipts, d.receipt)
	}
	s.held, s.ready, s.lead, s.behind = nil, nil, nil, nil
	for tm := range s.timers {
		// The message becomes visible at its backoff rounded up to a
		// second: later, never earlier.
		tm.Stop()
	}
	s.timers = nil
	s.notify()
	s.mu.Unlock()

	s.t.mu.Lock()
	delete(s.t.subs, s)
	s.t.mu.Unlock()
	if len(receipts) > 0 {
		s.t.setVisibility(context.Background(), s.q, receipts, 0)
	}
}

// wantMore waits until a Receive waits with nothing ready and the buffer
// has room, and returns how many messages to ask for; false once closed.
func (s *subscription) wantMore() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return 0, false
		}
		if n := bufferSize - s.buffered(); s.waiting > 0 && len(s.ready) == 0 && n > 0 {
			return n, true
		}
		ch := s.changed
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
	}
}

// poll receives for the subscription until it is closed. A receive call
// under way when it closes is let end; what it brings is made visible
// again.
func (s *subscription) poll() {
	pause := minPause
	for {
		n, ok := s.wantMore()
		if !ok {
			return
		}
		msgs, start, err := s.t.receive(s.q, n)
		if err != nil {
			s.t.log.Warn("sqs: receive failed", "topic", s.topic, "group", s.opts.Group, "err", err, "retry", pause)
			select {
			case <-time.After(pause):
			case <-s.done:
				return
			}
			pause = min(2*pause, maxPause)
			continue
		}
		pause = minPause
		s.add(msgs, start.Add(s.t.cfg.VisibilityTimeout))
	}
}

// add takes received messages into the buffer, or dead-letters the
// poison among them.
func (s *subscription) add(msgs []types.Message, visibleUntil time.Time) {
	var late []string
	for _, m := range msgs {
		d, poison := s.newDelivery(incomingOf(s.q.name, m), visibleUntil)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			late = append(late, d.receipt)
			continue
		}
		s.held[d] = struct{}{}
		if poison != "" {
			s.mu.Unlock()
			s.deadLetterPoison(d, poison)
			continue
		}
		if s.lanes {
			if _, busy := s.lead[d.group]; busy {
				s.behind[d.group] = append(s.behind[d.group], d)
				s.mu.Unlock()
				continue
			}
			s.lead[d.group] = d
		}
		d.readySince = time.Now()
		s.ready = append(s.ready, d)
		s.notify()
		s.mu.Unlock()
	}
	if len(late) > 0 {
		s.t.setVisibility(context.Background(), s.q, late, 0)
	}
}

// newDelivery makes a delivery of a received message, and says why it is
// poison when it is: a body that does not decode, or more receives than
// MaxAttempts (a consumer that crashes on it, say).
func (s *subscription) newDelivery(in Incoming, visibleUntil time.Time) (*delivery, string) {
	m, err := s.t.decode(in)
	d := &delivery{
		s: s, msgID: in.MessageID, receipt: in.ReceiptHandle, group: in.Attributes["MessageGroupId"],
		topic: m.Topic, key: m.Key, body: m.Body, visibleUntil: visibleUntil,
	}
	if d.topic == "" {
		d.topic = s.topic // a message from outside weft
	}
	s.mu.Lock()
	d.attempt = max(1, m.Attempt-s.released[in.MessageID])
	s.mu.Unlock()
	switch {
	case err != nil:
		return d, err.Error()
	case d.attempt > s.opts.MaxAttempts:
		return d, fmt.Sprintf("received %d times without being settled (MaxAttempts %d): the consumer may fail on it before it can settle it",
			d.attempt, s.opts.MaxAttempts)
	}
	return d, ""
}

// deadLetterPoison moves a message no Receive has seen to the dead-letter
// topic.
func (s *subscription) deadLetterPoison(d *delivery, reason string) {
	d.settled.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	s.t.log.Warn("sqs: dead-lettering a poison message", "topic", d.topic, "message", d.msgID, "reason", reason)
	if err := d.deadLetter(ctx, reason, d.attempt); err != nil {
		s.t.log.Error("sqs: dead-lettering a poison message failed; it comes back", "topic", d.topic, "message", d.msgID, "err", err)
	}
}

// unhold removes a delivery being settled from what the subscription
// holds: ErrClosed once the subscription closed (its messages were made
// visible again), ErrRedelivered when the heartbeat found its receipt
// handle stale.
func (s *subscription) unhold(d *delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return transport.ErrClosed
	}
	delete(s.held, d)
	if d.lost {
		return fmt.Errorf("sqs: settle message %s of %s: %w", d.msgID, s.q.name, transport.ErrRedelivered)
	}
	return nil
}

// next is called when d is settled: done (deleted), the next message of
// its group is handed out; not (nacked, or a settlement failed), those of
// its group that were received behind it are made visible again.
func (s *subscription) next(d *delivery, done bool) {
	if !s.lanes {
		if done {
			s.forgetReleased(d.msgID)
		}
		return
	}
	s.mu.Lock()
	if s.closed || s.lead[d.group] != d {
		s.mu.Unlock()
		return
	}
	queue := s.behind[d.group]
	delete(s.behind, d.group)
	delete(s.lead, d.group)
	if done {
		delete(s.released, d.msgID)
		if len(queue) > 0 {
			s.lead[d.group] = queue[0]
			queue[0].readySince = time.Now()
			s.ready = append(s.ready, queue[0])
			if len(queue) > 1 {
				s.behind[d.group] = queue[1:]
			}
			s.notify()
		}
		s.mu.Unlock()
		return
	}
	receipts := make([]string, len(queue))
	if len(s.released) >= maxReleased {
		s.released = map[string]int{}
	}
	for i, b := range queue {
		delete(s.held, b)
		s.released[b.msgID]++
		receipts[i] = b.receipt
	}
	s.notify() // room in the buffer
	s.mu.Unlock()
	if len(receipts) > 0 {
		s.t.setVisibility(context.Background(), s.q, receipts, 0)
	}
}

func (s *subscription) forgetReleased(id string) {
	s.mu.Lock()
	delete(s.released, id)
	s.mu.Unlock()
}

// releaseAt makes a nacked message visible at the instant at, when that
// comes before the whole second its visibility timeout was set to.
func (s *subscription) releaseAt(d *delivery, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	var tm *time.Timer
	tm = time.AfterFunc(time.Until(at), func() {
		s.mu.Lock()
		_, pending := s.timers[tm]
		delete(s.timers, tm)
		s.mu.Unlock()
		if !pending {
			return
		}
		s.t.spawn(func() {
			s.t.setVisibility(context.Background(), s.q, []string{d.receipt}, 0)
		})
	})
	s.timers[tm] = struct{}{}
}

// idle takes out of the buffer, and returns the receipt handles of, the
// deliveries that have been ready for longer than after while no Receive
// asked for them (with those of their groups behind them): they go back
// to SQS for the group's other members rather than wait for this one.
func (s *subscription) idle(now time.Time, after time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.waiting > 0 || len(s.ready) == 0 {
		return nil
	}
	var (
		keep     []*delivery
		receipts []string
	)
	if len(s.released) >= maxReleased {
		s.released = map[string]int{}
	}
	giveBack := func(d *delivery) {
		delete(s.held, d)
		s.released[d.msgID]++
		receipts = append(receipts, d.receipt)
	}
	for _, d := range s.ready {
		if now.Sub(d.readySince) < after {
			keep = append(keep, d)
			continue
		}
		giveBack(d)
		if s.lanes {
			for _, b := range s.behind[d.group] {
				giveBack(b)
			}
			delete(s.behind, d.group)
			delete(s.lead, d.group)
		}
	}
	if len(receipts) > 0 {
		s.ready = keep
		s.notify()
	}
	return receipts
}

// heartbeat extends the visibility timeout of what the subscription holds
// before it runs out, so a slow handler does not see its message handed
// to another member.
func (s *subscription) heartbeat() {
	vt := s.t.cfg.VisibilityTimeout
	tick := time.NewTicker(max(vt/3, 500*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		now := time.Now()
		if idle := s.idle(now, vt/2); len(idle) > 0 {
			s.t.setVisibility(context.Background(), s.q, idle, 0)
		}
		var (
			due      []*delivery
			receipts []string
		)
		s.mu.Lock()
		for d := range s.held {
			if d.visibleUntil.Sub(now) < vt*2/3 {
				due = append(due, d)
				receipts = append(receipts, d.receipt)
			}
		}
		s.mu.Unlock()
		if len(due) == 0 {
			continue
		}
		res := s.t.setVisibility(context.Background(), s.q, receipts, ceilSeconds(vt))
		s.mu.Lock()
		for _, d := range due {
			switch {
			case res.stale[d.receipt]:
				d.lost = true
			case res.changed[d.receipt]:
				d.visibleUntil = now.Add(vt)
			}
		}
		s.mu.Unlock()
	}
}

package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// delivery is one claim of a message by a subscription.
type delivery struct {
	s   *subscription
	row claimedRow

	mu      sync.Mutex // serializes settlement
	settled bool
	// lost: the lease renewal found the claim gone (see renewLeases).
	lost atomic.Bool
}

var (
	_ transport.Delivery     = (*delivery)(nil)
	_ transport.PublishAcker = (*delivery)(nil)
	_ transport.TxAcker      = (*delivery)(nil)
)

func (d *delivery) Body() []byte  { return d.row.body }
func (d *delivery) Key() string   { return d.row.key }
func (d *delivery) Topic() string { return d.s.topic }
func (d *delivery) Attempt() int  { return d.row.attempt }

// Ack deletes the message (or moves it to the acked table when
// Config.Retention is set). On a keyed group it lets the key's next message
// go. It returns an error wrapping ErrClaimLost if the claim was not renewed
// within the visibility timeout and the message was claimed again meanwhile.
func (d *delivery) Ack(ctx context.Context) error {
	return d.settle(ctx, "ack", d.s.ack)
}

// Nack schedules a redelivery after the subscription's backoff, or
// dead-letters the message once it has had MaxAttempts deliveries.
func (d *delivery) Nack(ctx context.Context, cause error) error {
	return d.settle(ctx, "nack", func(ctx context.Context, d *delivery) error {
		if d.row.attempt >= d.s.maxAttempts {
			reason := "nacked without a cause"
			if cause != nil {
				reason = cause.Error()
			}
			return d.s.deadLetter(ctx, d, reason, d.row.attempt)
		}
		return d.s.nack(ctx, d)
	})
}

// DeadLetter moves the message to the dead-letter table and publishes the
// transport.DeadLetter entry on the dead-letter topic, in one transaction.
func (d *delivery) DeadLetter(ctx context.Context, reason string) error {
	return d.settle(ctx, "dead-letter", func(ctx context.Context, d *delivery) error {
		return d.s.deadLetter(ctx, d, reason, d.row.attempt)
	})
}

// settle runs the first settlement; later ones are no-ops. A settlement
// that failed for a reason other than a lost claim may be tried again, but
// the claim is no longer renewed: if no try succeeds within the visibility
// timeout the message is delivered again, rather than its key staying
// parked behind a claim that nothing will settle for as long as the process
// lives.
func (d *delivery) settle(ctx context.Context, op string, fn func(context.Context, *delivery) error) error {
	return d.settleKeeping(ctx, op, false, fn)
}

// settleKeeping is settle; with keep, a settlement that failed for a reason
// other than a lost claim leaves the claim renewed, for one that sends
// more than a settlement (PublishAck) and that a runtime retries in place.
func (d *delivery) settleKeeping(ctx context.Context, op string, keep bool, fn func(context.Context, *delivery) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled {
		return nil
	}
	s := d.s
	if !s.ops.enter() {
		return transport.ErrClosed // released by Close: it is redelivered
	}
	defer s.ops.leave()
	ctx, stop := s.t.bind(ctx)
	defer stop()
	var err error
	if d.lost.Load() {
		err = ErrClaimLost // found gone by the lease renewal
	} else {
		err = fn(ctx, d)
	}
	done := err == nil || errors.Is(err, ErrClaimLost)
	if done {
		d.settled = true
	}
	if done || !keep {
		s.t.leases.drop(d)
	}
	if err != nil {
		return s.t.fail(ctx, fmt.Sprintf("%s message %d of %q", op, d.row.id, s.topic), err)
	}
	return nil
}

// PublishAck publishes envs and acknowledges the delivery in one
// transaction, which costs one round trip (see transport.PublishAcker).
// Invalid or oversized envelopes fail it before anything is sent. A claim
// found lost by the lease renewal fails it with ErrClaimLost before
// anything is sent; one found lost by the acknowledgement itself, after the
// envelopes were published (the message comes again, as after an Ack that
// failed). A failure of the database leaves the delivery unsettled and its
// claim renewed, so the caller may try again.
func (d *delivery) PublishAck(ctx context.Context, envs ...core.Envelope) error {
	t := d.s.t
	msgs, err := t.encode(envs)
	if err != nil {
		return err
	}
	return d.settleKeeping(ctx, "publish and ack", true, func(ctx context.Context, d *delivery) error {
		s := d.s
		b := &pgx.Batch{}
		if len(msgs) > 0 {
			t.queuePublish(b, msgs)
		}
		var acked, promoted int64
		s.queueAck(b, d, &acked, &promoted)
		// Close runs the statements' callbacks (execAll would not).
		if err := t.pool.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for _, m := range msgs {
			t.signals.wakeTopic(wakeKey(m.topic))
		}
		s.promotedWake(promoted)
		if acked == 0 {
			return ErrClaimLost
		}
		return nil
	})
}

// AckTx writes envs and the acknowledgement into tx, a pgx.Tx on the
// database of TxDomain (see transport.TxAcker), in one round trip; envs are
// checked first, as PublishTx does. committed, run once
// tx has committed, settles the delivery (a later Ack, Nack or DeadLetter
// is a no-op) and stops renewing its claim; until then it is renewed, and
// if tx rolls back the delivery is settled as usual.
func (d *delivery) AckTx(ctx context.Context, tx any, envs ...core.Envelope) (committed func(), err error) {
	s := d.s
	t := s.t
	ptx, ok := tx.(pgx.Tx)
	if !ok || ptx == nil {
		return nil, fmt.Errorf("pgqueue: ack in transaction: tx is a %T, want a pgx.Tx of a connection to %s", tx, t.domain)
	}
	msgs, err := t.encode(envs)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	settled := d.settled
	d.mu.Unlock()
	if !s.ops.enter() {
		return nil, transport.ErrClosed
	}
	defer s.ops.leave()
	b := &pgx.Batch{}
	if len(msgs) > 0 {
		t.queuePublish(b, msgs)
	}
	var acked, promoted int64
	if !settled {
		s.queueAck(b, d, &acked, &promoted)
	}
	if b.Len() == 0 {
		return func() {}, nil
	}
	if err := ptx.SendBatch(ctx, b).Close(); err != nil { // runs the callbacks
		return nil, t.fail(ctx, fmt.Sprintf("ack message %d of %q in transaction", d.row.id, s.topic), err)
	}
	return func() {
		for _, m := range msgs {
			t.signals.wakeTopic(wakeKey(m.topic))
		}
		if settled {
			return
		}
		d.mu.Lock()
		d.settled = true
		d.mu.Unlock()
		t.leases.drop(d)
		s.promotedWake(promoted)
		if acked == 0 {
			t.log.Warn("pgqueue: acknowledgement in a transaction found the claim gone; the message will be delivered again",
				"topic", s.topic, "group", s.group.name, "visibilityTimeout", t.cfg.VisibilityTimeout)
		}
	}, nil
}

// ordered reports whether settling d must keep its key's order.
func (s *subscription) ordered(d *delivery) bool { return s.group.keyed && d.row.key != "" }

func (s *subscription) ack(ctx context.Context, d *delivery) error {
	t := s.t
	b := &pgx.Batch{}
	var acked, promoted int64
	s.queueAck(b, d, &acked, &promoted)
	if err := t.pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	s.promotedWake(promoted)
	if acked == 0 {
		return ErrClaimLost
	}
	return nil
}

// queueAck adds d's acknowledgement to b, which runs in one transaction:
// the delete and, on a keyed group, in a statement of its own (whose
// snapshot sees any park the delete waited for), making the key's next
// message visible if it was parked. acked and promoted get the rows each
// changed once b has run.
func (s *subscription) queueAck(b *pgx.Batch, d *delivery, acked, promoted *int64) {
	t := s.t
	b.Queue(t.q.ack, d.row.id, s.token, d.row.attempt).
		Exec(func(tag pgconn.CommandTag) error { *acked = tag.RowsAffected(); return nil })
	if s.ordered(d) {
		b.Queue(t.q.promote, s.group.id, d.row.key, t.channel, s.wake).
			Exec(func(tag pgconn.CommandTag) error { *promoted = tag.RowsAffected(); return nil })
	}
}

// promotedWake wakes a local waiter when an acknowledgement made a parked
// message visible.
func (s *subscription) promotedWake(promoted int64) {
	if promoted > 0 {
		s.t.signals.wakeGroup(s.wake, s.group.id)
	}
}

func (s *subscription) nack(ctx context.Context, d *delivery) error {
	t := s.t
	delay := max(s.backoff(d.row.attempt), 0)
	micros := (delay + 999) / 1000 // whole microseconds, rounded up: never early
	tag, err := t.pool.Exec(ctx, t.q.nack, d.row.id, s.token, d.row.attempt, int64(micros), t.channel, s.wake)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrClaimLost
	}
	t.signals.wakeGroup(s.wake, s.group.id)
	return nil
}

// deadLetter records the message in the dead-letter table, deletes it, and
// publishes the entry on the dead-letter topic, all in one transaction.
func (s *subscription) deadLetter(ctx context.Context, d *delivery, reason string, attempts int) error {
	t := s.t
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	var moved int64
	b.Queue(t.q.deadLetter, d.row.id, s.token, d.row.attempt, s.group.name, reason, attempts).
		Exec(func(tag pgconn.CommandTag) error { moved = tag.RowsAffected(); return nil })
	br := t.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := br.Close(); err != nil {
		return err
	}
	if moved == 0 {
		return ErrClaimLost
	}
	dlq, entry := transport.DeadLetter(s.topic, d.row.key, d.row.body, reason, attempts, time.Now())
	b = &pgx.Batch{}
	t.queuePublish(b, []outgoing{{topic: dlq, key: d.row.key, body: entry}})
	if s.ordered(d) {
		b.Queue(t.q.promote, s.group.id, d.row.key, t.channel, s.wake)
	}
	if err := execAll(tx.SendBatch(ctx, b), b.Len()); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	t.log.Info("pgqueue: message dead-lettered",
		"topic", s.topic, "group", s.group.name, "dlq", dlq, "attempts", attempts, "reason", reason)
	t.signals.wakeTopic(wakeKey(dlq))
	t.signals.wakeGroup(s.wake, s.group.id)
	return nil
}

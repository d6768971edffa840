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

var _ transport.Delivery = (*delivery)(nil)

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
	if err == nil || errors.Is(err, ErrClaimLost) {
		d.settled = true
	}
	s.t.leases.drop(d)
	if err != nil {
		return s.t.fail(ctx, fmt.Sprintf("%s message %d of %q", op, d.row.id, s.topic), err)
	}
	return nil
}

// ordered reports whether settling d must keep its key's order.
func (s *subscription) ordered(d *delivery) bool { return s.group.keyed && d.row.key != "" }

func (s *subscription) ack(ctx context.Context, d *delivery) error {
	t := s.t
	if !s.ordered(d) {
		tag, err := t.pool.Exec(ctx, t.q.ack, d.row.id, s.token, d.row.attempt)
		if err == nil && tag.RowsAffected() == 0 {
			err = ErrClaimLost
		}
		return err
	}
	// Under the key lock, in one implicit transaction: delete the head,
	// then make the key's next message visible if it was parked.
	b := &pgx.Batch{}
	b.Queue(t.q.lockKey, s.group.id, d.row.key, t.seed)
	ack := b.Queue(t.q.ack, d.row.id, s.token, d.row.attempt)
	promote := b.Queue(t.q.promote, s.group.id, d.row.key, t.channel, s.wake)
	var acked, promoted int64
	ack.Exec(func(tag pgconn.CommandTag) error { acked = tag.RowsAffected(); return nil })
	promote.Exec(func(tag pgconn.CommandTag) error { promoted = tag.RowsAffected(); return nil })
	if err := t.pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if promoted > 0 {
		t.signals.wakeGroup(s.wake, s.group.id)
	}
	if acked == 0 {
		return ErrClaimLost
	}
	return nil
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
	if s.ordered(d) {
		b.Queue(t.q.lockKey, s.group.id, d.row.key, t.seed)
	}
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

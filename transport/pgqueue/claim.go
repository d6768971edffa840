package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/transport"
)

const (
	// claimTimeout bounds one claim. A claim runs on the transport's
	// context, not the caller's, so a cancelled Receive cannot leave a row
	// claimed by nobody; this keeps a hung server from holding it for ever.
	claimTimeout = 30 * time.Second
	// keyedWindow is how many visible rows a keyed claim locks and judges
	// at once: enough to park a burst of a key's later messages in one
	// round, few enough that concurrent members take different keys.
	keyedWindow = 8
)

// claimResult is what one claim attempt found.
type claimResult struct {
	delivery *delivery
	// changed: the attempt parked or promoted rows, or dead-lettered one;
	// look again at once.
	changed bool
	// contended: deliverable rows exist but another claimer holds them (or
	// holds what they wait behind).
	contended bool
	// more: visible rows are left that this claim did not take, so another
	// waiter may find one.
	more bool
	// due: when the next hidden row becomes visible (negative: none).
	due time.Duration
}

// claimedRow is a row this member just claimed.
type claimedRow struct {
	id      int64
	key     string
	body    []byte
	attempt int
}

// claim tries to take one message, in one statement.
func (s *subscription) claim() (claimResult, error) {
	res := claimResult{due: -1}
	if !s.ops.enter() {
		return res, transport.ErrClosed
	}
	defer s.ops.leave()
	t := s.t
	ctx, cancel := context.WithTimeout(t.ctx, claimTimeout)
	defer cancel()
	op := fmt.Sprintf("receive from %q (group %q)", s.topic, s.group.name)

	var rows pgx.Rows
	if s.group.keyed {
		rows, _ = t.pool.Query(ctx, t.q.claimKeyed, s.group.id, keyedWindow, 1, s.vtMicros(), s.token)
	} else {
		rows, _ = t.pool.Query(ctx, t.q.claim, s.group.id, 1, s.vtMicros(), s.token)
	}
	var (
		row               *claimedRow
		id                *int64
		key               *string
		body              []byte
		attempt           *int32
		changes, unjudged int64
		more              bool
		micros            *int64
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &key, &body, &attempt, &changes, &unjudged, &more, &micros}, func() error {
		if id != nil {
			row = &claimedRow{id: *id, key: *key, body: body, attempt: int(*attempt)}
		}
		return nil
	})
	if err != nil {
		return res, t.fail(ctx, op, err)
	}
	res.more = more
	res.contended = unjudged > 0 || (row == nil && more)
	if micros != nil {
		res.due = time.Duration(max(*micros, 0)) * time.Microsecond
	}
	if changes > 0 {
		res.changed = true
		// Rows became visible (or hidden): other members may have work.
		t.signals.wakeGroup(s.wake, s.group.id)
	}
	if row == nil {
		return res, nil
	}
	d := &delivery{s: s, row: *row}
	if row.attempt <= s.maxAttempts {
		// Renewed from now on until settled. Registered before the claim
		// leaves s.ops, so Subscription.Close sees it.
		t.leases.add(d)
		res.delivery = d
		return res, nil
	}
	// Claimed maxAttempts times and never settled: its consumers died (or
	// left) each time. Give up on it as a nack would.
	reason := fmt.Sprintf("not settled after %d deliveries (consumer gone: claim not renewed within the visibility timeout %v)", row.attempt-1, t.cfg.VisibilityTimeout)
	if err := s.deadLetter(ctx, d, reason, row.attempt-1); err != nil && !errors.Is(err, ErrClaimLost) {
		return res, t.fail(ctx, op, err)
	}
	res.changed = true
	return res, nil
}

func (s *subscription) vtMicros() int64 { return s.t.cfg.VisibilityTimeout.Microseconds() }

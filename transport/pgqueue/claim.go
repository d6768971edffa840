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
	// contended: deliverable rows exist but another claimer holds them.
	contended bool
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

// claim tries to take one message.
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

	var row *claimedRow
	var err error
	if s.group.keyed {
		row, res, err = s.claimKeyed(ctx)
	} else {
		row, err = s.claimUnordered(ctx)
	}
	if err != nil {
		return res, t.fail(ctx, op, err)
	}
	if row != nil {
		d := &delivery{s: s, row: *row}
		if row.attempt <= s.maxAttempts {
			// Renewed from now on until settled. Registered before the
			// claim leaves s.ops, so Subscription.Close sees it.
			t.leases.add(d)
			res.delivery = d
			return res, nil
		}
		// Claimed maxAttempts times and never settled: its consumers died
		// (or left) each time. Give up on it as a nack would.
		reason := fmt.Sprintf("not settled after %d deliveries (consumer gone: claim not renewed within the visibility timeout %v)", row.attempt-1, t.cfg.VisibilityTimeout)
		if err := s.deadLetter(ctx, d, reason, row.attempt-1); err != nil && !errors.Is(err, ErrClaimLost) {
			return res, t.fail(ctx, op, err)
		}
		res.changed = true
		return res, nil
	}
	if res.changed || res.contended {
		return res, nil
	}
	var visible bool
	var micros *int64
	if err := t.pool.QueryRow(ctx, t.q.nextDue, s.group.id).Scan(&visible, &micros); err != nil {
		return res, t.fail(ctx, op, err)
	}
	res.contended = visible
	if micros != nil {
		res.due = time.Duration(max(*micros, 0)) * time.Microsecond
	}
	return res, nil
}

func (s *subscription) vtMicros() int64 { return s.t.cfg.VisibilityTimeout.Microseconds() }

// claimUnordered takes the oldest visible row in one statement.
func (s *subscription) claimUnordered(ctx context.Context) (*claimedRow, error) {
	var r claimedRow
	var attempt int32
	err := s.t.pool.QueryRow(ctx, s.t.q.claim, s.group.id, 1, s.vtMicros(), s.token).Scan(&r.id, &r.key, &r.body, &attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.attempt = int(attempt)
	return &r, nil
}

// claimKeyed runs the two steps of a keyed claim in one transaction: lock
// candidate rows and try their keys' locks, then, with a snapshot taken
// after the locks, claim a key's head or park rows that must wait (see
// queries.claimKeyed).
func (s *subscription) claimKeyed(ctx context.Context) (*claimedRow, claimResult, error) {
	t := s.t
	res := claimResult{due: -1}
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	b.Queue(t.q.candidates, s.group.id, keyedWindow, t.seed)
	br := t.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var ids []int64
	_, err := br.Exec()
	if err == nil {
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			var id int64
			var locked bool
			_, err = pgx.ForEachRow(rows, []any{&id, &locked}, func() error {
				if locked {
					ids = append(ids, id)
				} else {
					res.contended = true
				}
				return nil
			})
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil || len(ids) == 0 {
		return nil, res, err
	}

	var (
		id, changes *int64
		key         *string
		body        []byte
		attempt     *int32
	)
	if err := tx.QueryRow(ctx, t.q.claimKeyed, s.group.id, ids, 1, s.vtMicros(), s.token).Scan(&id, &key, &body, &attempt, &changes); err != nil {
		return nil, res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, res, err
	}
	if changes != nil && *changes > 0 {
		res.changed = true
		// Rows became visible (or hidden): other members may have work.
		t.signals.wakeGroup(s.wake, s.group.id)
	}
	if id == nil {
		return nil, res, nil
	}
	return &claimedRow{id: *id, key: *key, body: body, attempt: int(*attempt)}, res, nil
}

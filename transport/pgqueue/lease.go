package pgqueue

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Claims are leases. A claim hides its row for VisibilityTimeout; while the
// delivery is held (received, not yet settled) the transport renews the
// lease every third of that, for all its held deliveries in one statement.
// A live consumer therefore keeps its message however long its handler
// runs, and the message of a process that died comes back within one
// VisibilityTimeout.

// leases is the set of a transport's deliveries whose claims are renewed.
type leases struct {
	mu   sync.Mutex
	held map[*delivery]struct{}

	// The renewal's timeliness: since is when the claims now held were last
	// known fresh (the start of the last round that renewed them, or the
	// claim of the first one), maxGap the longest wait a round ended, which
	// must stay under the visibility timeout for no claim to lapse; rounds
	// counts the rounds that renewed something.
	since  time.Time
	maxGap time.Duration
	rounds int
}

func newLeases() *leases { return &leases{held: map[*delivery]struct{}{}} }

// add starts renewing d's claim.
func (l *leases) add(d *delivery) {
	l.mu.Lock()
	if len(l.held) == 0 {
		l.since = time.Now()
	}
	l.held[d] = struct{}{}
	l.mu.Unlock()
}

// renewed records a round of renewal that started at start and renewed
// every claim held then.
func (l *leases) renewed(start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) == 0 {
		return
	}
	l.maxGap = max(l.maxGap, time.Since(l.since))
	l.since = start
	l.rounds++
}

// timeliness is the longest wait for a renewal that a round ended, and the
// number of rounds so far.
func (l *leases) timeliness() (time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxGap, l.rounds
}

// drop stops renewing d's claim (settled, or lost). It reports whether d
// was still held.
func (l *leases) drop(d *delivery) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.held[d]
	delete(l.held, d)
	return ok
}

// dropAll stops renewing the claims of s, which is closing.
func (l *leases) dropAll(s *subscription) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for d := range l.held {
		if d.s == s {
			delete(l.held, d)
		}
	}
}

func (l *leases) snapshot() []*delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) == 0 {
		return nil
	}
	ds := make([]*delivery, 0, len(l.held))
	for d := range l.held {
		ds = append(ds, d)
	}
	return ds
}

func (l *leases) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}

// leaseInterval is how often held claims are renewed: three renewals per
// VisibilityTimeout, so one failed or slow round never loses a claim.
func (c Config) leaseInterval() time.Duration {
	return max(c.VisibilityTimeout/3, time.Millisecond)
}

// leaseLoop renews the held claims every leaseInterval until ctx ends.
// Rounds with nothing held cost nothing (no connection is taken); a failed
// round is logged and the next one tries again.
func (t *Transport) leaseLoop(ctx context.Context) {
	tick := time.NewTicker(t.cfg.leaseInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := t.renewLeases(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("pgqueue: renewing claims failed; retrying at the next round",
				"err", err, "held", t.leases.count(), "every", t.cfg.leaseInterval())
		}
	}
}

// renewLeases extends the claims of every held delivery by one
// VisibilityTimeout, in one statement. Deliveries whose claim is gone (the
// row was settled or deleted, or claimed again after the claim expired) are
// marked lost and no longer renewed: their settlement reports ErrClaimLost.
func (t *Transport) renewLeases(ctx context.Context) error {
	start := time.Now()
	ds := t.leases.snapshot()
	if len(ds) == 0 {
		return nil
	}
	ids := make([]int64, len(ds))
	tokens := make([]int64, len(ds))
	attempts := make([]int32, len(ds))
	for i, d := range ds {
		ids[i], tokens[i], attempts[i] = d.row.id, d.s.token, int32(d.row.attempt)
	}
	// A round that cannot finish within one VisibilityTimeout saves no
	// claim; give up on it (a hung connection, say) and start afresh.
	ctx, cancel := context.WithTimeout(ctx, max(t.cfg.VisibilityTimeout, time.Second))
	defer cancel()
	rows, _ := t.pool.Query(ctx, t.q.renew, ids, tokens, attempts, t.cfg.VisibilityTimeout.Microseconds())
	lost, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	t.leases.renewed(start)
	unsettled := 0
	for _, n := range lost {
		if n < 1 || int(n) > len(ds) {
			continue
		}
		// Deliveries settled or released since the snapshot need nothing.
		if d := ds[n-1]; t.leases.drop(d) && d.markLost() {
			unsettled++
		}
	}
	if unsettled > 0 {
		t.log.Warn("pgqueue: claims lost before their deliveries were settled (not renewed within the visibility timeout, or taken over); their messages will be delivered again",
			"deliveries", unsettled, "visibilityTimeout", t.cfg.VisibilityTimeout)
	}
	return nil
}

// markLost records that d's claim is gone, so its settlement reports
// ErrClaimLost without asking the database. It reports whether d was
// neither settled nor being settled: a settlement in progress may be what
// removed the row.
func (d *delivery) markLost() bool {
	d.lost.Store(true)
	if !d.mu.TryLock() {
		return false
	}
	defer d.mu.Unlock()
	return !d.settled
}

// startLeases runs the lease loop on a context of its own, a child of
// t.ctx, so that tests can stop the renewals alone (see stopLeases).
func (t *Transport) startLeases() {
	ctx, cancel := context.WithCancel(t.ctx)
	done := make(chan struct{})
	t.stopLeases = func() { cancel(); <-done }
	t.bg.Go(func() {
		defer close(done)
		t.leaseLoop(ctx)
	})
}

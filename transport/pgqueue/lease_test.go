package pgqueue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/internal/tcpproxy"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pgqueue"
)

// quietAll runs Receive on every sub at once for quiet and returns an error
// naming any delivery (or any failure other than the deadline).
func quietAll(quiet time.Duration, subs ...transport.Subscription) error {
	ctx, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() {
			d, err := sub.Receive(ctx)
			switch {
			case err == nil:
				errs[i] = fmt.Errorf("member %d got a delivery (attempt %d): %q", i, d.Attempt(), d.Body())
			case !errors.Is(err, context.DeadlineExceeded):
				errs[i] = fmt.Errorf("member %d: Receive: %v", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TestHeldClaimIsRenewed: a delivery held unsettled for several visibility
// timeouts stays with its consumer while that consumer's transport lives;
// no other member, of the same transport or another, gets it, and the Ack
// at the end succeeds. Every mode, keyed and unkeyed, held at once.
func TestHeldClaimIsRenewed(t *testing.T) {
	t.Parallel()
	const vt = time.Second
	type held struct {
		name   string
		holder *pgqueue.Transport
		d      transport.Delivery
	}
	var (
		all    []held
		others []transport.Subscription
		cfgs   []pgqueue.Config
	)
	for _, mode := range []pgqueue.Mode{pgqueue.Hybrid, pgqueue.EventDrivenOnly, pgqueue.PollingOnly} {
		cfg := freshConfig(t)
		cfg.Mode = mode
		cfg.PollInterval = 50 * time.Millisecond
		cfg.FallbackThreshold = 200 * time.Millisecond
		cfg.VisibilityTimeout = vt
		cfgs = append(cfgs, cfg)
		holder, other := open(t, cfg), open(t, cfg)
		for _, keyed := range []bool{false, true} {
			name := fmt.Sprintf("%s keyed=%v", mode, keyed)
			tp := topic(t)
			opts := transport.SubscribeOptions{Group: "g", Keyed: keyed}
			sub := subscribe(t, holder, tp, opts)
			others = append(others, subscribe(t, holder, tp, opts), subscribe(t, other, tp, opts))
			publish(t, other, env(tp, "slow", "k"))
			d := receive(t, sub)
			if idOf(t, d) != "slow" || d.Attempt() != 1 {
				t.Fatalf("%s: got %s attempt %d, want slow attempt 1", name, idOf(t, d), d.Attempt())
			}
			all = append(all, held{name, holder, d})
		}
	}
	// A claim may lapse only when its transport's renewal went a whole
	// visibility timeout without a round: the machine not keeping up, which
	// the test cannot judge. Renewal runs three rounds per timeout, so a
	// lapse with rounds less than a timeout apart is the transport's fault.
	tooSlow := func() bool {
		t.Helper()
		for _, h := range all {
			if renewalLate(t, h.holder, vt) {
				return true
			}
		}
		return false
	}
	// Handlers running four visibility timeouts.
	if err := quietAll(4*vt, others...); err != nil {
		if tooSlow() {
			return
		}
		t.Fatalf("a held delivery went to another member: %v", err)
	}
	for _, cfg := range cfgs {
		if n := count(t, cfg, `SELECT count(*) FROM %s.queue_messages WHERE attempt = 1 AND claim IS NOT NULL AND visible_at > now()`); n != 2 && !tooSlow() {
			t.Errorf("%s: %d rows claimed once and hidden, want 2", cfg.Mode, n)
		}
	}
	for _, h := range all {
		if err := h.d.Ack(context.Background()); err != nil && !(errors.Is(err, pgqueue.ErrClaimLost) && tooSlow()) {
			t.Errorf("%s: Ack after holding for %v: %v", h.name, 4*vt, err)
		}
		if n := pgqueue.HeldClaims(h.holder); n > 1 {
			t.Errorf("%s: %d claims still renewed after the Ack, want at most the other one", h.name, n)
		}
	}
	for _, h := range all {
		if n := pgqueue.HeldClaims(h.holder); n != 0 {
			t.Errorf("%s: %d claims still renewed after both Acks", h.name, n)
		}
	}
}

// TestCrashedConsumerRedelivered: a transport that dies holding a claim
// (no release, no renewal) stalls its key for about one visibility
// timeout; then another transport gets the message, attempt counted, and
// the key's next message after it.
func TestCrashedConsumerRedelivered(t *testing.T) {
	t.Parallel()
	const vt = time.Second
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = vt
	cfg.Mode = pgqueue.EventDrivenOnly // the lapse must wake the waiter by itself
	crashing, survivor := open(t, cfg), open(t, cfg)
	tp := topic(t)
	opts := transport.SubscribeOptions{Group: "g", Keyed: true}
	doomed := subscribe(t, crashing, tp, opts)
	sub := subscribe(t, survivor, tp, opts)
	publish(t, survivor, env(tp, "first", "k"), env(tp, "second", "k"))
	held := receive(t, doomed)
	if idOf(t, held) != "first" {
		t.Fatalf("got %s, want first", idOf(t, held))
	}
	// Renewed while the holder lives (unless the machine stalled the
	// renewal for a whole visibility timeout; then the test cannot judge).
	if d, err := receiveWithin(sub, 3*vt/2); err == nil {
		if !renewalLate(t, crashing, vt) {
			t.Fatalf("%s (attempt %d) went to another member while its holder lived and renewed in time", idOf(t, d), d.Attempt())
		}
		return
	}

	got := receiveAsync(sub)
	if err := pgqueue.Crash(crashing); err != nil {
		t.Fatalf("Crash: %v", err)
	}
	crashed := time.Now()
	// Still claimed by the dead transport, not released (a released row
	// would be unclaimed, or claimed again by the survivor at attempt 2).
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_messages WHERE attempt = 1 AND claim IS NOT NULL AND visible_at > now()`); n != 1 {
		t.Fatalf("%d rows still claimed by the crashed transport, want 1: the crash released the claim", n)
	}
	var d transport.Delivery
	select {
	case d = <-got:
	case <-time.After(waitTimeout):
		t.Fatalf("not redelivered within %v of the crash", waitTimeout)
	}
	if d == nil {
		t.Fatal("Receive failed")
	}
	t.Logf("redelivered %v after the crash (visibility timeout %v)", time.Since(crashed), vt)
	if idOf(t, d) != "first" || d.Attempt() != 2 {
		t.Fatalf("got %s attempt %d, want first attempt 2", idOf(t, d), d.Attempt())
	}
	if err := held.Ack(context.Background()); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Ack through the crashed transport = %v, want ErrClosed", err)
	}
	ack(t, d)
	if d = receive(t, sub); idOf(t, d) != "second" {
		t.Fatalf("got %s, want second", idOf(t, d))
	}
	ack(t, d)
}

// TestSettledClaimsNotRenewed: every way of letting go of a delivery stops
// its renewal, and a claim the renewal finds gone is reported lost.
func TestSettledClaimsNotRenewed(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = 300 * time.Millisecond
	tr := open(t, cfg)
	tp := topic(t)
	opts := transport.SubscribeOptions{Group: "g", Backoff: func(int) time.Duration { return time.Hour }}
	sub := subscribe(t, tr, tp, opts)
	publish(t, tr, env(tp, "a", ""), env(tp, "b", ""), env(tp, "c", ""))
	ds := []transport.Delivery{receive(t, sub), receive(t, sub), receive(t, sub)}
	held := func(want int, after string) {
		t.Helper()
		if n := pgqueue.HeldClaims(tr); n != want {
			t.Fatalf("after %s: %d claims renewed, want %d", after, n, want)
		}
	}
	held(3, "three receives")
	ack(t, ds[0])
	held(2, "an ack")
	if err := ds[1].Nack(context.Background(), errors.New("later")); err != nil {
		t.Fatal(err)
	}
	held(1, "a nack")
	if err := ds[2].DeadLetter(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	held(0, "a dead-letter")

	publish(t, tr, env(tp, "d", ""), env(tp, "e", ""))
	closing := subscribe(t, tr, tp, opts)
	receive(t, closing)
	receive(t, closing)
	held(2, "two more receives")
	if err := closing.Close(); err != nil {
		t.Fatal(err)
	}
	held(0, "the subscription closed")

	// The claim is taken from under the consumer (as a claim that lapsed
	// and went to another member would be): the renewal notices, stops
	// renewing it, and the Ack reports the loss.
	ds = []transport.Delivery{receive(t, sub), receive(t, sub)} // d and e, released by the Close
	held(2, "receiving the released messages")
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE "`+cfg.Schema+`".queue_messages SET claim = claim + 1 WHERE claim IS NOT NULL`)
		return err
	})
	eventually(t, "the renewal dropped the lost claims", func() bool { return pgqueue.HeldClaims(tr) == 0 })
	if err := ds[0].Ack(context.Background()); !errors.Is(err, pgqueue.ErrClaimLost) {
		t.Errorf("Ack of a lost claim = %v, want ErrClaimLost", err)
	}
	if err := ds[1].Nack(context.Background(), nil); !errors.Is(err, pgqueue.ErrClaimLost) {
		t.Errorf("Nack of a lost claim = %v, want ErrClaimLost", err)
	}
}

// recorder keeps the messages of the records logged at warn or above.
type recorder struct {
	mu    *sync.Mutex
	warns *[]string
	next  slog.Handler
}

func newRecorder(next slog.Handler) recorder {
	return recorder{mu: new(sync.Mutex), warns: new([]string), next: next}
}

func (r recorder) Enabled(ctx context.Context, l slog.Level) bool { return r.next.Enabled(ctx, l) }

func (r recorder) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelWarn {
		r.mu.Lock()
		*r.warns = append(*r.warns, rec.Message)
		r.mu.Unlock()
	}
	return r.next.Handle(ctx, rec)
}

func (r recorder) WithAttrs(as []slog.Attr) slog.Handler {
	r.next = r.next.WithAttrs(as)
	return r
}

func (r recorder) WithGroup(name string) slog.Handler {
	r.next = r.next.WithGroup(name)
	return r
}

func (r recorder) saw(part string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range *r.warns {
		if strings.Contains(m, part) {
			return true
		}
	}
	return false
}

// TestRenewalSurvivesConnectionLoss: the server ends the holder's pooled
// connections; the renewal round that meets the broken connection fails
// and is logged, and the next rounds keep the claim.
func TestRenewalSurvivesConnectionLoss(t *testing.T) {
	t.Parallel()
	const vt = 1500 * time.Millisecond
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = vt
	base := cfg
	// A name of its own marks the holder's pooled connections (its
	// listener names itself).
	var b [6]byte
	rand.Read(b[:])
	app := "pgq-renew-" + hex.EncodeToString(b[:])
	u, err := url.Parse(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	cfg.URL = u.String()
	cfg.MaxConns = 1
	rec := newRecorder(cfg.Logger.Handler())
	cfg.Logger = slog.New(rec)
	holder, other := open(t, cfg), open(t, base)
	tp := topic(t)
	sub := subscribe(t, holder, tp, transport.SubscribeOptions{Group: "g"})
	rival := subscribe(t, other, tp, transport.SubscribeOptions{Group: "g"})
	publish(t, other, env(tp, "m", ""))
	d := receive(t, sub)

	var cut int
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&cut)
	})
	if cut == 0 {
		t.Fatalf("no connection named %s to cut", app)
	}
	eventually(t, "a failed renewal logged", func() bool { return rec.saw("renewing claims failed") })
	// Beyond the lapse of the last renewal before the cut.
	expectNothing(t, rival, 3*vt/2)
	if err := d.Ack(context.Background()); err != nil {
		t.Fatalf("Ack after the renewal recovered: %v", err)
	}
}

// TestFailedSettlementIsRedelivered: a settlement that fails (the database
// out of reach at that moment) stops the renewal of its claim, so the
// message comes back after one visibility timeout and the key's next message
// after it, instead of the key staying parked behind a claim renewed for as
// long as the transport lives.
func TestFailedSettlementIsRedelivered(t *testing.T) {
	t.Parallel()
	const vt = 2 * time.Second
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = vt
	survivor := open(t, cfg)
	proxy, err := tcpproxy.Start(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	pcfg := cfg
	pcfg.URL = ""
	host, port := proxy.HostPort()
	pcfg.Host = host
	if pcfg.Port, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	pcfg.ConnectTimeout = time.Second
	holder := open(t, pcfg)

	tp := topic(t)
	opts := transport.SubscribeOptions{Group: "g", Keyed: true}
	held := subscribe(t, holder, tp, opts)
	publish(t, survivor, env(tp, "first", "k"), env(tp, "second", "k"))
	d := receive(t, held)
	if idOf(t, d) != "first" {
		t.Fatalf("got %s, want first", idOf(t, d))
	}
	proxy.Down()
	if err := d.Ack(context.Background()); err == nil {
		t.Fatal("Ack with the database out of reach succeeded")
	} else if errors.Is(err, pgqueue.ErrClaimLost) {
		t.Fatalf("Ack = %v, want a connection error", err)
	}
	if n := pgqueue.HeldClaims(holder); n != 0 {
		t.Errorf("%d claims still renewed after the failed settlement, want 0", n)
	}
	proxy.Up()

	sub := subscribe(t, survivor, tp, opts)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout+vt)
	defer cancel()
	again, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("the message of the failed settlement was not delivered again: %v", err)
	}
	if idOf(t, again) != "first" || again.Attempt() != 2 {
		t.Fatalf("got %s attempt %d, want first attempt 2", idOf(t, again), again.Attempt())
	}
	ack(t, again)
	next := receive(t, sub)
	if idOf(t, next) != "second" {
		t.Fatalf("got %s, want second", idOf(t, next))
	}
	ack(t, next)
	// The failed settlement, tried again now, finds the claim gone.
	if err := d.Ack(context.Background()); !errors.Is(err, pgqueue.ErrClaimLost) || !errors.Is(err, transport.ErrRedelivered) {
		t.Errorf("Ack tried again after the redelivery = %v, want ErrClaimLost (transport.ErrRedelivered)", err)
	}
}

// receiveWithin waits up to quiet for a delivery on sub.
func receiveWithin(sub transport.Subscription, quiet time.Duration) (transport.Delivery, error) {
	ctx, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	return sub.Receive(ctx)
}

// renewalLate reports whether tr's renewal of held claims went a whole
// visibility timeout without a round at some point: the machine not keeping
// up, which lets a claim lapse through no fault of the transport. It waits
// for one more round first, so a stall in progress is counted, while a
// renewal that stopped for good is not excused.
func renewalLate(t *testing.T, tr *pgqueue.Transport, vt time.Duration) bool {
	t.Helper()
	_, before := pgqueue.RenewalTimeliness(tr)
	deadline := time.Now().Add(waitTimeout)
	for {
		gap, rounds := pgqueue.RenewalTimeliness(tr)
		if rounds > before || time.Now().After(deadline) {
			if gap >= vt {
				t.Logf("renewal went %v without a round (visibility timeout %v): the machine did not keep up; not judging", gap, vt)
				return true
			}
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

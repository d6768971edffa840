package pgqueue_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pgqueue"
	"github.com/weftio/weft/transport/transporttest"
)

// The three conformance runs are not parallel to each other (each runs its
// subtests in parallel), which keeps the connection count within a shared
// test server's limit.

func TestConformanceHybrid(t *testing.T) {
	p := &perTest{cfgs: map[*testing.T]pgqueue.Config{}, tune: func(c *pgqueue.Config) {
		c.Mode = pgqueue.Hybrid
		c.PollInterval = 100 * time.Millisecond
		c.FallbackThreshold = 500 * time.Millisecond
	}}
	transporttest.Run(t, p.open)
}

func TestConformanceEventDrivenOnly(t *testing.T) {
	p := &perTest{cfgs: map[*testing.T]pgqueue.Config{}, tune: func(c *pgqueue.Config) {
		c.Mode = pgqueue.EventDrivenOnly
	}}
	transporttest.Run(t, p.open)
}

func TestConformancePollingOnly(t *testing.T) {
	p := &perTest{cfgs: map[*testing.T]pgqueue.Config{}, tune: func(c *pgqueue.Config) {
		c.Mode = pgqueue.PollingOnly
		c.PollInterval = 50 * time.Millisecond
	}}
	transporttest.Run(t, p.open)
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	host, port, _ := net.SplitHostPort(addr)
	_, err = pgqueue.New(context.Background(), pgqueue.Config{
		Server:  pgqueue.Server{URL: "postgres://weft:secret-pw@" + addr + "/db?sslmode=disable"},
		Session: pgqueue.Session{ConnectTimeout: 2 * time.Second},
	})
	if err == nil {
		t.Fatal("New against a closed port succeeded")
	}
	if !strings.Contains(err.Error(), net.JoinHostPort(host, port)) {
		t.Errorf("error %q does not name %s", err, addr)
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.Password = "definitely-not-the-password"
	cfg.URL = ""
	tr, err := pgqueue.New(context.Background(), cfg)
	if err == nil {
		tr.Close()
		t.Skip("the test server accepted a wrong password (trust authentication?); nothing to check")
	}
	want := fmt.Sprintf("password authentication failed for user %q", cfg.User)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v\nwant it to contain %s", err, want)
	}
	if strings.Contains(err.Error(), cfg.Password) {
		t.Fatalf("error shows the password: %v", err)
	}
}

// TestVisibilityTimeoutRedelivers: a member whose transport stops renewing
// its claim (a process stalled, or cut off from the database) loses the
// message to another member after the visibility timeout, with the attempt
// counted, and its late Ack reports the lost claim.
func TestVisibilityTimeoutRedelivers(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = 300 * time.Millisecond
	cfg.Mode = pgqueue.EventDrivenOnly // the expiry must wake the waiter by itself
	stalled := open(t, cfg)
	pgqueue.StopRenewing(stalled)
	tr := open(t, cfg)
	tp := topic(t)
	dead := subscribe(t, stalled, tp, transport.SubscribeOptions{Group: "g"})
	alive := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g"})
	publish(t, tr, env(tp, "m1", ""))

	first := receive(t, dead)
	start := time.Now()
	second := receive(t, alive)
	if idOf(t, second) != "m1" || second.Attempt() != 2 {
		t.Fatalf("redelivery %s attempt %d, want m1 attempt 2", idOf(t, second), second.Attempt())
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("redelivered after %v, before the 300ms visibility timeout", waited)
	}
	if err := first.Ack(context.Background()); !errors.Is(err, pgqueue.ErrClaimLost) {
		t.Errorf("late Ack of the expired claim = %v, want ErrClaimLost", err)
	}
	ack(t, second)
	expectNothing(t, alive, 500*time.Millisecond)
	expectNothing(t, dead, 100*time.Millisecond)
}

// TestAbandonedTooOftenIsDeadLettered: a message whose consumers die every
// time is dead-lettered once it has had MaxAttempts deliveries.
func TestAbandonedTooOftenIsDeadLettered(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = 100 * time.Millisecond
	tr := open(t, cfg)
	pgqueue.StopRenewing(tr) // its held claims lapse, as a dead consumer's do
	tp := topic(t)
	dlq := subscribe(t, tr, core.DeadLetterTopic(tp), transport.SubscribeOptions{Group: "dlq"})
	sub := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g", MaxAttempts: 2})
	publish(t, tr, env(tp, "crasher", "k"))
	for attempt := 1; attempt <= 2; attempt++ {
		if d := receive(t, sub); d.Attempt() != attempt {
			t.Fatalf("attempt %d, want %d", d.Attempt(), attempt)
		}
		// Not settled (nor renewed): as if the consumer died.
	}
	third := make(chan error, 1)
	go func() { // the third claim dead-letters it instead of delivering
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		d, err := sub.Receive(ctx)
		if err == nil {
			err = fmt.Errorf("delivered again (attempt %d) instead of dead-lettered", d.Attempt())
		} else if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
		third <- err
	}()
	d := receive(t, dlq)
	if err := <-third; err != nil {
		t.Error(err)
	}
	entry, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		t.Fatal(err)
	}
	if entry.ID != "crasher" || entry.DeadLetterAttempts != 2 || !strings.Contains(entry.DeadLetterReason, "not settled") {
		t.Errorf("entry %s attempts %d reason %q", entry.ID, entry.DeadLetterAttempts, entry.DeadLetterReason)
	}
	ack(t, d)
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_dead_letters WHERE reason LIKE 'not settled%%'`); n != 1 {
		t.Errorf("dead_letters rows = %d, want 1", n)
	}
}

func TestPublishTx(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	tr := open(t, cfg)
	tp := topic(t)
	sub := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g"})
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// Rolled back: never delivered.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.PublishTx(ctx, tx, env(tp, "rolled-back", "")); err != nil {
		t.Fatalf("PublishTx: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, sub, 300*time.Millisecond)

	// Committed: invisible until the commit, then delivered.
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); err != nil { // the caller's own write would go here
		t.Fatal(err)
	}
	if err := tr.PublishTx(ctx, tx, env(tp, "committed-1", "k"), env(tp, "committed-2", "k")); err != nil {
		t.Fatalf("PublishTx: %v", err)
	}
	expectNothing(t, sub, 300*time.Millisecond)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"committed-1", "committed-2"} {
		d := receive(t, sub)
		if got := idOf(t, d); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
		ack(t, d)
	}

	// Not a pgx.Tx: refused without writing.
	err = tr.PublishTx(ctx, struct{}{}, env(tp, "wrong", ""))
	if err == nil || !strings.Contains(err.Error(), "pgx.Tx") {
		t.Errorf("PublishTx with a struct{} = %v, want an error naming pgx.Tx", err)
	}
	// An invalid envelope is refused before anything is written.
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.PublishTx(ctx, tx, env(tp, "", "")); err == nil {
		t.Error("PublishTx of an envelope without id succeeded")
	}
	_ = tx.Rollback(ctx)

	u, _ := pgqueue.ParseURL(serverURL(t))
	if want := fmt.Sprintf("postgres://%s:%d/%s", strings.ToLower(u.Host), u.Port, u.Database); tr.TxDomain() != want {
		t.Errorf("TxDomain = %q, want %q", tr.TxDomain(), want)
	}
}

// TestPollingOnlyWithoutNotify: a PollingOnly consumer has no listener and
// gets a message published by another transport (another process, as far
// as it can tell), so neither NOTIFY nor an in-process wake-up reaches it.
func TestPollingOnlyWithoutNotify(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.Mode = pgqueue.PollingOnly
	cfg.PollInterval = 100 * time.Millisecond
	consumer := open(t, cfg)
	publisher := open(t, cfg)
	if pgqueue.HasListener(consumer) {
		t.Fatal("a PollingOnly transport runs a listener")
	}
	tp := topic(t)
	sub := subscribe(t, consumer, tp, transport.SubscribeOptions{Group: "g"})
	delayed := env(tp, "delayed", "")
	delayed.SetDeliverAt(time.Now().Add(300 * time.Millisecond))
	publish(t, publisher, env(tp, "polled", ""), delayed)
	for _, want := range []string{"polled", "delayed"} {
		d := receive(t, sub)
		if got := idOf(t, d); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
		ack(t, d)
	}
}

// insertSilently writes a message straight into the table, without the
// NOTIFY a publish sends: as if the notification had been lost.
func insertSilently(t *testing.T, cfg pgqueue.Config, topic, id string) {
	t.Helper()
	body, err := core.EncodeEnvelope(env(topic, id, ""))
	if err != nil {
		t.Fatal(err)
	}
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		s := `"` + cfg.Schema + `"`
		_, err := c.Exec(ctx, `INSERT INTO `+s+`.queue_messages (group_id, topic, body, ready_at, visible_at)
			SELECT id, topic, $2, now(), now() FROM `+s+`.queue_groups WHERE topic = $1`, topic, body)
		return err
	})
}

// receiveAsync starts a Receive and returns the channel of its result.
func receiveAsync(sub transport.Subscription) <-chan transport.Delivery {
	got := make(chan transport.Delivery, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
		defer cancel()
		d, err := sub.Receive(ctx)
		if err != nil {
			close(got)
			return
		}
		got <- d
	}()
	return got
}

// TestEventDrivenOnlyWakesWithoutPolling: a waiting Receive neither polls
// (a row written without NOTIFY stays unseen) nor misses the notification
// of a publish made by another transport.
func TestEventDrivenOnlyWakesWithoutPolling(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.Mode = pgqueue.EventDrivenOnly
	cfg.PollInterval = 10 * time.Millisecond // must not matter in this mode
	cfg.VisibilityTimeout = time.Hour
	consumer := open(t, cfg)
	publisher := open(t, cfg)
	eventually(t, "listener connected", func() bool { return pgqueue.ListenerPID(consumer) != 0 })
	tp := topic(t)
	sub := subscribe(t, consumer, tp, transport.SubscribeOptions{Group: "g"})
	got := receiveAsync(sub)
	time.Sleep(200 * time.Millisecond) // let it block; the test holds either way
	insertSilently(t, cfg, tp, "silent")
	select {
	case d := <-got:
		if d != nil {
			t.Fatalf("a row written without NOTIFY (%s) was found without any event: the consumer polls", idOf(t, d))
		}
		t.Fatal("Receive failed")
	case <-time.After(time.Second):
	}
	publish(t, publisher, env(tp, "notified", ""))
	var d transport.Delivery
	select {
	case d = <-got:
	case <-time.After(waitTimeout):
		t.Fatal("the waiting Receive was not woken by the notification")
	}
	if d == nil {
		t.Fatal("Receive failed")
	}
	ack(t, d) // the older, silent row comes first
	if d = receive(t, sub); idOf(t, d) != "notified" {
		t.Fatalf("got %s, want notified", idOf(t, d))
	}
	ack(t, d)
}

// TestHybridFallsBackToPolling: with a healthy listener that hears nothing,
// hybrid mode polls once FallbackThreshold has passed, so a row whose
// notification was lost is still delivered.
func TestHybridFallsBackToPolling(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.Mode = pgqueue.Hybrid
	cfg.PollInterval = 50 * time.Millisecond
	cfg.FallbackThreshold = 300 * time.Millisecond
	cfg.VisibilityTimeout = time.Hour
	consumer := open(t, cfg)
	eventually(t, "listener connected", func() bool { return pgqueue.ListenerPID(consumer) != 0 })
	tp := topic(t)
	sub := subscribe(t, consumer, tp, transport.SubscribeOptions{Group: "g"})
	got := receiveAsync(sub)
	time.Sleep(100 * time.Millisecond)
	insertSilently(t, cfg, tp, "silent")
	select {
	case d := <-got:
		if d == nil || idOf(t, d) != "silent" {
			t.Fatalf("got %v, want the silent row", d)
		}
		ack(t, d)
	case <-time.After(waitTimeout):
		t.Fatal("hybrid mode did not poll after the fallback threshold")
	}
}

// TestListenerReconnects terminates the listener's server process; the
// transport must reconnect and keep delivering on notifications alone.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	for _, mode := range []pgqueue.Mode{pgqueue.EventDrivenOnly, pgqueue.Hybrid} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			cfg := freshConfig(t)
			cfg.Mode = mode
			cfg.VisibilityTimeout = time.Hour
			cfg.PollInterval = 100 * time.Millisecond
			cfg.FallbackThreshold = time.Hour // hybrid polls only while the listener is down
			consumer := open(t, cfg)
			publisher := open(t, cfg)
			tp := topic(t)
			sub := subscribe(t, consumer, tp, transport.SubscribeOptions{Group: "g"})
			for round := range 3 {
				var pid uint32
				eventually(t, "listener connected", func() bool { pid = pgqueue.ListenerPID(consumer); return pid != 0 })
				admin(t, func(ctx context.Context, c *pgx.Conn) error {
					_, err := c.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(pid))
					return err
				})
				if mode == pgqueue.EventDrivenOnly {
					// Publish only once a new session listens: the message
					// must arrive by notification, not by the catch-up wake
					// after reconnecting.
					eventually(t, "listener reconnected", func() bool {
						p := pgqueue.ListenerPID(consumer)
						return p != 0 && p != pid
					})
				}
				id := fmt.Sprintf("after-cut-%d", round)
				publish(t, publisher, env(tp, id, ""))
				d := receive(t, sub)
				if got := idOf(t, d); got != id {
					t.Fatalf("got %s, want %s", got, id)
				}
				ack(t, d)
			}
		})
	}
}

func TestOversizedAndRaw(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.MaxMessageSize = 1024
	tr := open(t, cfg)
	if got := tr.Capabilities().MaxMessageSize; got != 1024 {
		t.Fatalf("Capabilities().MaxMessageSize = %d, want 1024", got)
	}
	tp := topic(t)
	sub := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g"})
	ctx := context.Background()

	big := env(tp, "big", "")
	big.Data = []byte(`"` + strings.Repeat("x", 1024) + `"`)
	err := tr.Publish(ctx, env(tp, "small", ""), big)
	if !errors.Is(err, pgqueue.ErrMessageTooLarge) || !strings.Contains(err.Error(), "1024") {
		t.Fatalf("Publish of an oversized envelope = %v, want ErrMessageTooLarge naming the limit", err)
	}
	if err := tr.PublishRaw(ctx, tp, "", bytes.Repeat([]byte{1}, 1025)); !errors.Is(err, pgqueue.ErrMessageTooLarge) {
		t.Fatalf("PublishRaw of 1025 bytes = %v, want ErrMessageTooLarge", err)
	}
	expectNothing(t, sub, 200*time.Millisecond) // the batch with "small" was refused whole

	raw := []byte("\x00\xff not an envelope {")
	if err := tr.PublishRaw(ctx, tp, "raw-key", raw); err != nil {
		t.Fatalf("PublishRaw: %v", err)
	}
	raw[0] = 'X' // the transport kept its own copy
	d := receive(t, sub)
	if !bytes.Equal(d.Body(), []byte("\x00\xff not an envelope {")) || d.Key() != "raw-key" || d.Topic() != tp {
		t.Fatalf("raw delivery body %q key %q topic %q", d.Body(), d.Key(), d.Topic())
	}
	ack(t, d)
	exact := bytes.Repeat([]byte{'y'}, 1024)
	if err := tr.PublishRaw(ctx, tp, "", exact); err != nil {
		t.Fatalf("PublishRaw of exactly the limit: %v", err)
	}
	if d := receive(t, sub); !bytes.Equal(d.Body(), exact) {
		t.Fatalf("got %d bytes, want the 1024 published", len(d.Body()))
	} else {
		ack(t, d)
	}

	for _, bad := range []struct{ topic, key string }{{"", ""}, {tp, "nul\x00key"}, {tp, "bad\xffutf8"}} {
		if err := tr.PublishRaw(ctx, bad.topic, bad.key, []byte("x")); err == nil {
			t.Errorf("PublishRaw(topic %q, key %q) succeeded", bad.topic, bad.key)
		}
	}
}

// TestRestartKeepsMessages: messages, including one claimed but unsettled
// when the transport closed, are there for the next transport.
func TestRestartKeepsMessages(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	tp := topic(t)
	ctx := context.Background()
	tr, err := pgqueue.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tr.Subscribe(ctx, tp, transport.SubscribeOptions{Group: "g", Keyed: true})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, tr, env(tp, "a", "k"), env(tp, "b", "k"))
	d := receive(t, sub)
	if idOf(t, d) != "a" {
		t.Fatalf("got %s, want a", idOf(t, d))
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Ack(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Ack after Close = %v, want ErrClosed", err)
	}

	tr2 := open(t, cfg)
	sub2 := subscribe(t, tr2, tp, transport.SubscribeOptions{Group: "g", Keyed: true})
	d = receive(t, sub2)
	if idOf(t, d) != "a" || d.Attempt() != 2 {
		t.Fatalf("after restart got %s attempt %d, want a attempt 2", idOf(t, d), d.Attempt())
	}
	ack(t, d)
	if d = receive(t, sub2); idOf(t, d) != "b" {
		t.Fatalf("got %s, want b", idOf(t, d))
	}
	ack(t, d)
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_messages`); n != 0 {
		t.Errorf("%d message rows left after every message was acked", n)
	}
}

// TestKeyedOrderAcrossTransports runs the members of one keyed group on two
// transports (two processes) and checks per-key order and exclusivity.
func TestKeyedOrderAcrossTransports(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	trs := []*pgqueue.Transport{open(t, cfg), open(t, cfg)}
	tp := topic(t)
	const keys, perKey = 5, 40
	var subs []transport.Subscription
	for i := range 4 {
		subs = append(subs, subscribe(t, trs[i%2], tp, transport.SubscribeOptions{Group: "g", Keyed: true, Backoff: func(int) time.Duration { return time.Millisecond }}))
	}
	for i := range perKey {
		var batch []core.Envelope
		for k := range keys {
			batch = append(batch, env(tp, fmt.Sprintf("k%d-%03d", k, i), fmt.Sprintf("key-%d", k)))
		}
		publish(t, trs[i%2], batch...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		next     = map[string]int{}
		inFlight = map[string]bool{}
		nacked   = map[string]bool{}
		done     int
		wg       sync.WaitGroup
	)
	for _, sub := range subs {
		wg.Go(func() {
			for {
				d, err := sub.Receive(ctx)
				if err != nil {
					return
				}
				var k, seq int
				fmt.Sscanf(idOf(t, d), "k%d-%03d", &k, &seq)
				mu.Lock()
				if inFlight[d.Key()] {
					t.Errorf("two messages of %s in flight at once", d.Key())
				}
				inFlight[d.Key()] = true
				if want := next[d.Key()]; seq != want {
					t.Errorf("%s: got seq %d, want %d", d.Key(), seq, want)
				}
				// Nack every 7th message once: a redelivery must keep the
				// key blocked.
				id := idOf(t, d)
				retry := seq%7 == 3 && !nacked[id]
				if retry {
					nacked[id] = true
				} else {
					next[d.Key()] = seq + 1
					done++
				}
				finished := done == keys*perKey
				inFlight[d.Key()] = false
				mu.Unlock()
				if retry {
					err = d.Nack(context.Background(), errors.New("once more"))
				} else {
					err = d.Ack(context.Background())
				}
				if err != nil {
					t.Errorf("settle: %v", err)
				}
				if finished {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if done != keys*perKey {
		t.Fatalf("settled %d messages, want %d", done, keys*perKey)
	}
}

func TestRetentionAndCleanup(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.Retention = 200 * time.Millisecond
	cfg.DeadLetterRetention = 200 * time.Millisecond
	cfg.CleanupInterval = time.Hour // Cleanup is called by the test
	tr := open(t, cfg)
	tp := topic(t)
	sub := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g"})
	publish(t, tr, env(tp, "kept", ""), env(tp, "dead", ""))
	for range 2 {
		d := receive(t, sub)
		if idOf(t, d) == "dead" {
			if err := d.DeadLetter(context.Background(), "test"); err != nil {
				t.Fatal(err)
			}
		} else {
			ack(t, d)
		}
	}
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_acked`); n != 1 {
		t.Fatalf("acked rows = %d, want 1 (retention is on)", n)
	}
	if n, err := tr.Cleanup(context.Background()); err != nil || n != 0 {
		t.Fatalf("Cleanup before the retention passed = %d, %v; want 0", n, err)
	}
	time.Sleep(300 * time.Millisecond)
	if n, err := tr.Cleanup(context.Background()); err != nil || n != 2 {
		t.Fatalf("Cleanup after the retention = %d, %v; want 2 (one acked, one dead letter)", n, err)
	}
	// The dead-letter topic's copy is a message like any other: retained
	// for its first group.
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_messages WHERE group_id IS NULL`); n != 1 {
		t.Errorf("retained dead-letter entries = %d, want 1", n)
	}
}

// TestCleanupReleasesStrandedKey: a key whose head was deleted by hand
// while its later messages waited (parked) gets going again at the next
// cleanup.
func TestCleanupReleasesStrandedKey(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.CleanupInterval = time.Hour // Cleanup is called by the test
	tr := open(t, cfg)
	tp := topic(t)
	sub := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g", Keyed: true})
	publish(t, tr, env(tp, "a", "k"), env(tp, "b", "k"), env(tp, "c", "k"))
	if d := receive(t, sub); idOf(t, d) != "a" {
		t.Fatalf("got %s, want a", idOf(t, d))
	}
	expectNothing(t, sub, 200*time.Millisecond) // b and c wait behind a, parked
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_messages WHERE visible_at = 'infinity'`); n != 2 {
		t.Fatalf("%d parked rows, want 2 (b and c)", n)
	}
	if n, err := tr.Cleanup(context.Background()); err != nil || n != 0 {
		t.Fatalf("Cleanup with a in flight = %d, %v; want 0 (nothing is stranded)", n, err)
	}
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM "`+cfg.Schema+`".queue_messages WHERE attempt > 0`)
		return err
	})
	expectNothing(t, sub, 200*time.Millisecond)
	if n, err := tr.Cleanup(context.Background()); err != nil || n != 1 {
		t.Fatalf("Cleanup with k stranded = %d, %v; want 1", n, err)
	}
	for _, want := range []string{"b", "c"} {
		d := receive(t, sub)
		if got := idOf(t, d); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
		ack(t, d)
	}
}

func TestNewFromPool(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tr, err := pgqueue.NewFromPool(ctx, pool, pgqueue.Config{Schema: cfg.Schema, Mode: pgqueue.PollingOnly, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tp := topic(t)
	sub := subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g"})
	publish(t, tr, env(tp, "via-pool", ""))
	ack(t, receive(t, sub))
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("the caller's pool was closed with the transport: %v", err)
	}
	if err := tr.Publish(ctx, env(tp, "late", "")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}

func TestSchemaCreationConcurrent(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			tr, err := pgqueue.New(context.Background(), cfg)
			if err == nil {
				tr.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent New #%d: %v", i, err)
		}
	}
	if n := count(t, cfg, `SELECT count(*) FROM %s.queue_schema_version WHERE version = 1`); n != 1 {
		t.Fatalf("schema_version rows = %d, want 1", n)
	}
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE "`+cfg.Schema+`".queue_schema_version SET version = version + 1`)
		return err
	})
	if _, err := pgqueue.New(context.Background(), cfg); !errors.Is(err, pgqueue.ErrSchemaTooNew) {
		t.Fatalf("New on a newer layout = %v, want ErrSchemaTooNew", err)
	}
}

// TestCloseWhileReceiving closes a subscription under many blocked and
// looping Receive calls: each returns ErrClosed, none hangs.
func TestCloseWhileReceiving(t *testing.T) {
	t.Parallel()
	tr := open(t, freshConfig(t))
	tp := topic(t)
	for _, keyed := range []bool{false, true} {
		sub, err := tr.Subscribe(context.Background(), tp, transport.SubscribeOptions{Group: fmt.Sprint("g", keyed), Keyed: keyed})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				for {
					d, err := sub.Receive(context.Background())
					if err != nil {
						errs <- err
						return
					}
					_ = d.Ack(context.Background())
				}
			})
		}
		publish(t, tr, env(tp, "x1", "k"), env(tp, "x2", "k"))
		time.Sleep(50 * time.Millisecond)
		if err := sub.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Receive after Close = %v, want ErrClosed", err)
			}
		}
	}
}

func TestGroupKeyedMismatch(t *testing.T) {
	t.Parallel()
	tr := open(t, freshConfig(t))
	tp := topic(t)
	subscribe(t, tr, tp, transport.SubscribeOptions{Group: "g", Keyed: true})
	if _, err := tr.Subscribe(context.Background(), tp, transport.SubscribeOptions{Group: "g"}); err == nil || !strings.Contains(err.Error(), "Keyed") {
		t.Fatalf("joining a keyed group unkeyed = %v, want an error about Keyed", err)
	}
}

// BenchmarkPublishReceive publishes batches of 100 and consumes them with
// four members of one group; the figure is messages/s end to end.
func BenchmarkPublishReceive(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		b.Run(fmt.Sprintf("keyed=%t", keyed), func(b *testing.B) {
			cfg := freshConfig(b)
			cfg.MaxConns = 8
			tr := open(b, cfg)
			tp := topic(b)
			var subs []transport.Subscription
			for range 4 {
				subs = append(subs, subscribe(b, tr, tp, transport.SubscribeOptions{Group: "bench", Keyed: keyed}))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var received atomic.Int64
			all := make(chan struct{})
			for _, sub := range subs {
				go func() {
					for {
						d, err := sub.Receive(ctx)
						if err != nil {
							return
						}
						if err := d.Ack(context.Background()); err != nil {
							b.Error(err)
						}
						if received.Add(1) == int64(b.N) {
							close(all)
						}
					}
				}()
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; {
				batch := make([]core.Envelope, 0, 100)
				for ; i < b.N && len(batch) < 100; i++ {
					batch = append(batch, env(tp, fmt.Sprintf("m%d", i), fmt.Sprintf("key-%d", i%32)))
				}
				publish(b, tr, batch...)
			}
			<-all
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

package pgqueue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pgqueue"
)

// Integration tests need WEFT_TEST_POSTGRES_URL (scripts/services.sh up
// postgres; eval "$(scripts/services.sh env)"); without it they skip, or
// fail under TEST_REQUIRE_INTEGRATION=1. Every test works in a schema of its
// own, dropped at the end, so parallel tests and leftovers of crashed runs
// never meet.

const waitTimeout = 10 * time.Second

func serverURL(t testing.TB) string {
	t.Helper()
	return testenv.URL(t, testenv.PostgresURL)
}

// freshConfig returns a Config for the test server with a new random schema
// that is dropped when the test ends (after the transports opened later are
// closed: cleanups run last-registered first).
func freshConfig(t testing.TB) pgqueue.Config {
	t.Helper()
	cfg, err := pgqueue.ParseURL(serverURL(t))
	if err != nil {
		t.Fatalf("%s: %v", testenv.PostgresURL, err)
	}
	cfg.Schema = testenv.PostgresSchema(t, "t_pgq_", 6)
	// Small pools: many transports run in parallel against a server other
	// packages' tests share.
	cfg.MaxConns = 3
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

// testWriter routes the transport's logs to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// admin runs fn on a plain connection of its own.
func admin(t testing.TB, fn func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	testenv.PostgresAdmin(t, fn)
}

// open starts a Transport for cfg, closed when the test ends.
func open(t testing.TB, cfg pgqueue.Config) *pgqueue.Transport {
	t.Helper()
	tr, err := pgqueue.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil && !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return tr
}

// perTest hands every call for the same test the same configuration, so a
// test that reopens the transport (durability) finds its messages.
type perTest struct {
	mu   sync.Mutex
	cfgs map[*testing.T]pgqueue.Config
	tune func(*pgqueue.Config)
}

func (p *perTest) open(t *testing.T) transport.Transport {
	t.Helper()
	serverURL(t) // skip before taking the lock
	p.mu.Lock()
	cfg, ok := p.cfgs[t]
	if !ok {
		cfg = freshConfig(t)
		p.tune(&cfg)
		p.cfgs[t] = cfg
	}
	p.mu.Unlock()
	return open(t, cfg)
}

var seq struct {
	sync.Mutex
	n int
}

// topic returns a topic no other test uses.
func topic(t testing.TB) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("pgqtest:%s-%d", t.Name(), seq.n)
}

func env(topic, id, key string) core.Envelope {
	return core.Envelope{
		ID: id, Source: "pgqueue-test", SpecVersion: core.SpecVersion, Type: "weft.test.Message",
		Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), DataContentType: core.ContentTypeJSON,
		Data: []byte(fmt.Sprintf(`{"id":%q}`, id)), PartitionKey: key, Topic: topic,
	}
}

func subscribe(t testing.TB, tr transport.Transport, topic string, opts transport.SubscribeOptions) transport.Subscription {
	t.Helper()
	sub, err := tr.Subscribe(context.Background(), topic, opts)
	if err != nil {
		t.Fatalf("Subscribe(%q, %q): %v", topic, opts.Group, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func publish(t testing.TB, tr transport.Transport, envs ...core.Envelope) {
	t.Helper()
	if err := tr.Publish(context.Background(), envs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func receive(t testing.TB, sub transport.Subscription) transport.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return d
}

func expectNothing(t testing.TB, sub transport.Subscription, quiet time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err == nil {
		t.Fatalf("unexpected delivery %q (attempt %d)", d.Body(), d.Attempt())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive: got %v, want context.DeadlineExceeded", err)
	}
}

func idOf(t testing.TB, d transport.Delivery) string {
	t.Helper()
	e, err := core.DecodeEnvelope(d.Body())
	if err != nil {
		t.Fatalf("decode %q: %v", d.Body(), err)
	}
	return e.ID
}

func ack(t testing.TB, d transport.Delivery) {
	t.Helper()
	if err := d.Ack(context.Background()); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

// count runs a count query in the test's schema; {s} stands for the quoted
// schema.
func count(t testing.TB, cfg pgqueue.Config, query string) int {
	t.Helper()
	var n int
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, fmt.Sprintf(query, `"`+cfg.Schema+`"`)).Scan(&n)
	})
	return n
}

// eventually polls cond until it holds or waitTimeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

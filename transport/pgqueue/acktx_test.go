package pgqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pgqueue"
)

// TestAckTx: an acknowledgement written into a transaction with the
// outputs commits with it: rolled back, nothing is published and the
// delivery stays held (its key blocked); committed, the outputs go out and
// the key's next message comes. One whose transaction never commits because
// its process crashed is delivered again.
func TestAckTx(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	cfg.VisibilityTimeout = time.Second
	tr, other := open(t, cfg), open(t, cfg)
	in, out := topic(t), topic(t)
	opts := transport.SubscribeOptions{Group: "g", Keyed: true}
	sub := subscribe(t, tr, in, opts)
	outs := subscribe(t, other, out, transport.SubscribeOptions{Group: "g"})
	publish(t, tr, env(in, "a1", "k"), env(in, "a2", "k"))
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	d := receive(t, sub)
	if id := idOf(t, d); id != "a1" {
		t.Fatalf("got %s, want a1", id)
	}
	ta := d.(transport.TxAcker)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.AckTx(ctx, tx, env(out, "o-rolled-back", "")); err != nil {
		t.Fatalf("AckTx: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, outs, 300*time.Millisecond)
	expectNothing(t, sub, 100*time.Millisecond) // a1 still holds the key
	if n := pgqueue.HeldClaims(tr); n != 1 {
		t.Fatalf("held claims after a rolled back AckTx: %d, want 1", n)
	}

	if _, err := ta.AckTx(ctx, struct{}{}); err == nil {
		t.Error("AckTx with a struct{} succeeded")
	}
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := ta.AckTx(ctx, tx, env(out, "o1", ""))
	if err != nil {
		t.Fatalf("AckTx: %v", err)
	}
	expectNothing(t, outs, 100*time.Millisecond) // not before the commit
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	committed()
	if err := d.Ack(ctx); err != nil {
		t.Errorf("Ack after a committed AckTx should be a no-op: %v", err)
	}
	if id := idOf(t, receive(t, outs)); id != "o1" {
		t.Errorf("output %s, want o1", id)
	}
	d = receive(t, sub)
	if id := idOf(t, d); id != "a2" || d.Attempt() != 1 {
		t.Fatalf("got %s attempt %d, want a2 attempt 1", id, d.Attempt())
	}
	if n := pgqueue.HeldClaims(tr); n != 1 {
		t.Errorf("held claims: %d, want 1 (a2)", n)
	}

	// The process dies with the acknowledgement written but not committed.
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.(transport.TxAcker).AckTx(ctx, tx, env(out, "o2", "")); err != nil {
		t.Fatalf("AckTx: %v", err)
	}
	if err := pgqueue.Crash(tr); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	again := subscribe(t, other, in, opts)
	d = receive(t, again)
	if id := idOf(t, d); id != "a2" || d.Attempt() != 2 {
		t.Fatalf("after the crash: got %s attempt %d, want a2 attempt 2", id, d.Attempt())
	}
	ack(t, d)
	expectNothing(t, outs, 100*time.Millisecond)
}

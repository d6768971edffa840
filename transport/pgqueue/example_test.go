package pgqueue_test

import (
	"context"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pgqueue"
)

// Open a transport, consume a keyed topic and publish to it. (Not run: it
// needs a server.)
func Example() {
	ctx := context.Background()
	tr, err := pgqueue.New(ctx, pgqueue.Config{
		Server:            pgqueue.Server{URL: "postgres://weft:secret@db.internal:5432/weft?sslmode=verify-full"},
		Mode:              pgqueue.Hybrid,
		VisibilityTimeout: time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	sub, err := tr.Subscribe(ctx, "orders:Checkout", transport.SubscribeOptions{Group: "billing", Keyed: true})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	e := core.Envelope{ID: "order-42-paid", Source: "shop", Type: "shop.Paid", Topic: "orders:Checkout",
		PartitionKey: "order-42", Data: []byte(`{"amount":12}`)}
	if err := tr.Publish(ctx, e); err != nil {
		log.Fatal(err)
	}
	d, err := sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Ack(ctx); err != nil {
		log.Fatal(err)
	}
}

// Publish in the same transaction as the application's own write.
func ExampleTransport_PublishTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://weft:secret@db.internal:5432/weft")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := pgqueue.NewFromPool(ctx, pool, pgqueue.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE orders SET state = 'paid' WHERE id = 42`); err != nil {
		log.Fatal(err)
	}
	e := core.Envelope{ID: "order-42-paid", Source: "shop", Type: "shop.Paid", Topic: "orders:Checkout", Data: []byte(`{}`)}
	if err := tr.PublishTx(ctx, tx, e); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil { // the update and the message, or neither
		log.Fatal(err)
	}
}

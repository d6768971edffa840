package pulsar_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pulsar"
)

// New connects to a broker (here the one scripts/pulsar.sh runs) and, with
// an admin URL, creates the namespace; topics are created on first use.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := pulsar.New(ctx, pulsar.Config{
		URL:       "pulsar://127.0.0.1:56650",
		AdminURL:  "http://127.0.0.1:58080",
		Tenant:    "acme",
		Namespace: "weft",
		TokenFile: "", // or Token, for token authentication
		Logger:    slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	// workflow-cmd:Trip lives in persistent://acme/weft/workflow-cmd:Trip.
	sub, err := tr.Subscribe(ctx, "workflow-cmd:Trip", transport.SubscribeOptions{Group: "engine", Keyed: true})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	d, err := sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_ = d.Ack(ctx)
}

package pulsar

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/weftio/weft/internal/tcpproxy"
	"github.com/weftio/weft/transport"
)

// TestUnreachableAfterNew: with the broker out of reach, Publish and
// Subscribe end with their ctx, and Close does not wait for the client's
// own retries (OperationTimeout) to run out.
func TestUnreachableAfterNew(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	u, err := url.Parse(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := tcpproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	cfg.URL = "pulsar://" + proxy.Addr()
	const opTimeout = time.Minute
	cfg.OperationTimeout = opTimeout
	tr, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Down() // topic lookups go through the service URL

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = tr.Publish(ctx, testEnv("outage:x", "lost", ""))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish while unreachable returned %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = tr.Subscribe(ctx, "outage:x", transport.SubscribeOptions{Group: "g"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Subscribe while unreachable returned %v, want context.DeadlineExceeded", err)
	}

	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- tr.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Logf("Close returned after %v", time.Since(start))
	case <-time.After(opTimeout / 2):
		t.Fatalf("Close still waiting after %v: it waits for the client's retries", opTimeout/2)
	}
}

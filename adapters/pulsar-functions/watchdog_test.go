package pulsarfunctions

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock drives a watchdog: time moves only when the test says, and
// every wait the watchdog starts is handed to the test.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits chan chan time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) after(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- ch
	return ch
}

func TestWatchdogStopsWithoutChecks(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	clock := &fakeClock{t: t0, waits: make(chan chan time.Time)}
	w := newWatchdog(10*time.Second, clock.now, clock.after)
	done := make(chan error, 1)
	go func() { done <- w.run(context.Background()) }()

	// A check just before the limit pushes the deadline on.
	wait := <-clock.waits
	clock.set(t0.Add(29 * time.Second))
	w.check()
	clock.set(t0.Add(30 * time.Second))
	wait <- clock.now()
	wait = <-clock.waits // still running: waiting again
	select {
	case err := <-done:
		t.Fatalf("watchdog stopped despite a check: %v", err)
	default:
	}
	// No check for three intervals since the last one: it stops.
	clock.set(t0.Add(29*time.Second + 30*time.Second))
	wait <- clock.now()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "no health check for 30s") {
		t.Fatalf("watchdog: %v, want it to stop naming the 30s limit", err)
	}
}

func TestWatchdogOffWithoutInterval(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1000, 0), waits: make(chan chan time.Time)}
	w := newWatchdog(0, clock.now, clock.after)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	clock.set(time.Unix(1_000_000, 0))
	select {
	case ch := <-clock.waits:
		t.Fatalf("watchdog without an interval started a wait (%v)", ch)
	case err := <-done:
		t.Fatalf("watchdog without an interval stopped: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watchdog after cancel: %v", err)
	}
}

package pulsarfunctions

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// watchdogFactor: with an expected health-check interval, an instance that
// hears no check for this many intervals stops, as a Java instance does
// (the worker then restarts it).
const watchdogFactor = 3

// watchdog records health checks and, when an interval is expected, ends
// run once checks stop coming. Time is injected so tests need no waiting.
type watchdog struct {
	limit time.Duration // 0: off
	now   func() time.Time
	after func(time.Duration) <-chan time.Time

	mu   sync.Mutex
	last time.Time
}

func newWatchdog(interval time.Duration, now func() time.Time, after func(time.Duration) <-chan time.Time) *watchdog {
	return &watchdog{limit: watchdogFactor * interval, now: now, after: after, last: now()}
}

// check records a health check.
func (w *watchdog) check() {
	now := w.now()
	w.mu.Lock()
	w.last = now
	w.mu.Unlock()
}

// run returns nil when ctx ends, or an error once no check has arrived for
// the limit. With no expected interval it only waits for ctx.
func (w *watchdog) run(ctx context.Context) error {
	if w.limit <= 0 {
		<-ctx.Done()
		return nil
	}
	for {
		w.mu.Lock()
		last := w.last
		w.mu.Unlock()
		wait := last.Add(w.limit).Sub(w.now())
		if wait <= 0 {
			return fmt.Errorf("no health check for %v (%d × expectedHealthCheckInterval %v): stopping", w.limit, watchdogFactor, w.limit/watchdogFactor)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.after(wait):
		}
	}
}

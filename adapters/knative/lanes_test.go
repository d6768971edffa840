package knative

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLanes: the holders of one key never overlap, other keys run beside
// them, a waiter whose context ends gives up, and no lane outlives its
// users.
func TestLanes(t *testing.T) {
	var l lanes
	l.held = map[string]*lane{}
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			release, ok := l.acquire(context.Background(), "k")
			if !ok {
				t.Error("acquire failed")
				return
			}
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(100 * time.Microsecond)
			inside.Add(-1)
			release()
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders of one key at once", most.Load())
	}
	release, _ := l.acquire(context.Background(), "a")
	other, ok := l.acquire(context.Background(), "b")
	if !ok {
		t.Fatal("another key waited for the first")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, ok := l.acquire(ctx, "a"); ok {
		t.Error("a second holder of a held key")
	}
	release()
	other()
	l.mu.Lock()
	left := len(l.held)
	l.mu.Unlock()
	if left != 0 {
		t.Errorf("%d lanes left with no users", left)
	}
}

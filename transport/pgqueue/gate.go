package pgqueue

import "sync"

// gate counts operations in progress so Close can refuse new ones and wait
// for the running ones, without a WaitGroup's Add-after-Wait race.
type gate struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed when n drops to 0 after close
}

// enter registers an operation; false once the gate is closed.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// close refuses new operations and returns a channel closed once the running
// ones have left. Only the first call closes; later calls return a closed
// channel too, once idle.
func (g *gate) close() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	ch := make(chan struct{})
	if g.n == 0 {
		close(ch)
		return ch
	}
	if g.idle != nil {
		// A second closer waits for the same moment.
		prev := g.idle
		go func() { <-prev; close(ch) }()
		return ch
	}
	g.idle = ch
	return ch
}

func (g *gate) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

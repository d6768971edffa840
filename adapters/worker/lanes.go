package worker

import (
	"context"

	"github.com/weftio/weft/transport"
)

// laneQueue bounds each lane's backlog: with it full, receiving stops, which
// is the backpressure that keeps a slow function from buffering without end.
const laneQueue = 8

// lanes routes deliveries: keyed ones to the lane their key hashes to, so a
// key is handled by one goroutine at a time; unkeyed ones to whichever lane
// is free first.
type lanes struct {
	own    []chan transport.Delivery
	shared chan transport.Delivery
}

func newLanes(n int) *lanes {
	ls := &lanes{own: make([]chan transport.Delivery, n), shared: make(chan transport.Delivery, n)}
	for i := range ls.own {
		ls.own[i] = make(chan transport.Delivery, laneQueue)
	}
	return ls
}

// dispatch queues d, blocking while its lane is full. It reports false if
// ctx ended first.
func (ls *lanes) dispatch(ctx context.Context, d transport.Delivery) bool {
	ch := ls.shared
	if k := d.Key(); k != "" {
		ch = ls.own[fnv32a(k)%uint32(len(ls.own))]
	}
	select {
	case ch <- d:
		return true
	case <-ctx.Done():
		return false
	}
}

// close tells the lanes that nothing more will be dispatched; they drain
// what is queued and return.
func (ls *lanes) close() {
	for _, ch := range ls.own {
		close(ch)
	}
	close(ls.shared)
}

// fnv32a is FNV-1a over the key's bytes, inlined to avoid a []byte copy.
func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// runLane handles deliveries one at a time until both its queues are closed
// and drained.
func (w *Worker) runLane(workCtx, settleCtx context.Context, own, shared <-chan transport.Delivery) {
	for own != nil || shared != nil {
		select {
		case d, ok := <-own:
			if !ok {
				own = nil
				continue
			}
			w.handle(workCtx, settleCtx, d)
		case d, ok := <-shared:
			if !ok {
				shared = nil
				continue
			}
			w.handle(workCtx, settleCtx, d)
		}
	}
}

package memory

import (
	"container/heap"
	"time"
)

// expiryHeap is a min-heap of entries by deadline. Each entry is in it at
// most once (tracked by entry.heapIndex), so rewriting a key with a new TTL
// moves it instead of piling up stale items.
type expiryHeap []*entry

// schedule sets e's deadline, adding e to the heap or moving it.
func (h *expiryHeap) schedule(e *entry, at time.Time) {
	e.expires = at
	if e.hasTTL() {
		heap.Fix(h, e.heapIndex)
		return
	}
	heap.Push(h, e)
}

// cancel takes e out of the heap; e no longer expires.
func (h *expiryHeap) cancel(e *entry) {
	heap.Remove(h, e.heapIndex)
}

// heap.Interface; not for direct use.

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = i
	h[j].heapIndex = j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.heapIndex = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old) - 1
	e := old[n]
	old[n] = nil // let the entry be collected
	*h = old[:n]
	e.heapIndex = -1
	return e
}

package memory

// waiter is one Receive call blocked on an empty group. Signalling hands it
// a token on ch and unlinks it, so each newly ready message wakes exactly one
// receiver instead of all of them.
type waiter struct {
	ch         chan struct{}
	prev, next *waiter
	queued     bool
}

// waitList is an intrusive FIFO of waiters: O(1) to append, to wake the
// oldest, and to unlink one whose Receive gave up.
type waitList struct {
	head, tail *waiter
}

func (l *waitList) push(w *waiter) {
	w.prev, w.next, w.queued = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
}

// wakeOne signals the oldest waiter, if any.
func (l *waitList) wakeOne() {
	if w := l.head; w != nil {
		l.remove(w)
		w.ch <- struct{}{} // buffered(1) and unlinked: never blocks
	}
}

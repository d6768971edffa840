package pgqueue

import "testing"

func signalled(w *waiter) bool {
	select {
	case <-w.ch:
		return true
	default:
		return false
	}
}

func TestSignalsWakeOnePerGroup(t *testing.T) {
	t.Parallel()
	s := newSignals()
	s.join("t", 1)
	s.join("t", 2)
	a, b := s.enqueue("t", 1), s.enqueue("t", 1)
	c := s.enqueue("t", 2)
	s.wakeTopic("t")
	if !signalled(a) || signalled(b) || !signalled(c) {
		t.Fatal("a topic wake must wake the oldest waiter of each group, and only it")
	}
	// A second wake while the first is unused goes to the next waiter.
	s.wakeGroup("t", 1)
	s.wakeGroup("t", 1)
	if !signalled(a) || !signalled(b) {
		t.Fatal("two wakes must reach two waiters")
	}
	s.wakeTopic("other") // nobody listens: ignored
	if !s.isHead(a) || s.isHead(b) {
		t.Fatal("the oldest waiter is the head")
	}
}

func TestSignalsRemoveHandsOver(t *testing.T) {
	t.Parallel()
	s := newSignals()
	s.join("t", 1)
	a, b, c := s.enqueue("t", 1), s.enqueue("t", 1), s.enqueue("t", 1)
	// The head leaving wakes the next one, which takes over the timers.
	s.remove(a)
	if !s.isHead(b) || !signalled(b) || signalled(c) {
		t.Fatal("removing the head must wake and promote the next waiter")
	}
	// A waiter leaving with an unused token passes it on.
	s.wakeGroup("t", 1) // to b, the oldest without a token
	s.remove(b)         // b was head: c is woken as new head; b's token goes on too
	if !signalled(c) {
		t.Fatal("c must be woken")
	}
	s.remove(c)
	s.leave("t", 1)
	if len(s.topics) != 0 {
		t.Fatalf("lists left behind: %v", s.topics)
	}
}

func TestSignalsEnqueueAfterLeave(t *testing.T) {
	t.Parallel()
	s := newSignals()
	s.join("t", 1)
	s.leave("t", 1)
	w := s.enqueue("t", 1) // a Receive racing its subscription's Close
	s.remove(w)
	if len(s.topics) != 0 {
		t.Fatalf("lists left behind: %v", s.topics)
	}
}

func TestSignalsWakeAll(t *testing.T) {
	t.Parallel()
	s := newSignals()
	s.join("x", 1)
	s.join("y", 2)
	a, b := s.enqueue("x", 1), s.enqueue("y", 2)
	s.wakeAll()
	if !signalled(a) || !signalled(b) {
		t.Fatal("wakeAll must wake every group")
	}
}

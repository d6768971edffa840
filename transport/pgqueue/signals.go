package pgqueue

import "sync"

// signals wakes the Receive calls of this process. Waiters queue per
// consumer group (and topic, by wakeKey) in arrival order. An event wakes
// one waiter per group, not all of them: a waiter that then claims a message
// wakes the next one (there may be more), one that finds nothing does not.
// A burst of n messages thus costs about n+1 claims, whatever the number of
// waiters. Only the oldest waiter of a group (the head) keeps timers for
// polls and due rows; when it leaves, the next one takes over.
type signals struct {
	mu     sync.Mutex
	topics map[string]map[int64]*waitList // wakeKey → group id → waiters
}

// waiter is one Receive call. A wake puts a token in ch; the waiter stays
// queued for the whole call, so a wake that comes while it is querying is
// not lost: the token makes it look again.
type waiter struct {
	ch         chan struct{}
	list       *waitList
	prev, next *waiter
}

type waitList struct {
	key        string
	group      int64
	head, tail *waiter
	refs       int // subscriptions of the group on this transport
}

func newSignals() *signals { return &signals{topics: map[string]map[int64]*waitList{}} }

// join registers a subscription of group on key; every join needs a leave.
func (s *signals) join(key string, group int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list(key, group).refs++
}

// list returns the waiters of group on key, creating the list; the caller
// holds s.mu.
func (s *signals) list(key string, group int64) *waitList {
	groups := s.topics[key]
	if groups == nil {
		groups = map[int64]*waitList{}
		s.topics[key] = groups
	}
	l := groups[group]
	if l == nil {
		l = &waitList{key: key, group: group}
		groups[group] = l
	}
	return l
}

func (s *signals) leave(key string, group int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.topics[key][group]; l != nil {
		l.refs--
		s.drop(l)
	}
}

// drop forgets a list nobody uses any more.
func (s *signals) drop(l *waitList) {
	if l.refs > 0 || l.head != nil {
		return
	}
	groups := s.topics[l.key]
	if groups[l.group] == l {
		delete(groups, l.group)
		if len(groups) == 0 {
			delete(s.topics, l.key)
		}
	}
}

// enqueue adds a waiter. The list exists even if the subscription has
// just left (a Receive racing its Close); remove drops it again.
func (s *signals) enqueue(key string, group int64) *waiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.list(key, group)
	w := &waiter{ch: make(chan struct{}, 1), list: l, prev: l.tail}
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	return w
}

// remove ends a waiter. A token it did not use goes to another waiter, and
// a head that leaves hands its timers to the next one by waking it.
func (s *signals) remove(w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := w.list
	wasHead := l.head == w
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
	w.prev, w.next = nil, nil
	hadToken := false
	select {
	case <-w.ch:
		hadToken = true
	default:
	}
	if wasHead && l.head != nil {
		signal(l.head)
	}
	if hadToken {
		l.wakeOne()
	}
	s.drop(l)
}

// isHead reports whether w is the oldest waiter of its group.
func (s *signals) isHead(w *waiter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return w.list.head == w
}

// consume drops w's token, if any: w is about to look anyway.
func (w *waiter) consume() {
	select {
	case <-w.ch:
	default:
	}
}

// signal gives w a token unless it has one.
func signal(w *waiter) bool {
	select {
	case w.ch <- struct{}{}:
		return true
	default:
		return false
	}
}

// wakeOne gives a token to the oldest waiter without one.
func (l *waitList) wakeOne() {
	for w := l.head; w != nil; w = w.next {
		if signal(w) {
			return
		}
	}
}

// wakeTopic wakes one waiter of every group of key: a message was published
// (or otherwise became visible) there. Keys nobody here subscribes to are
// ignored, which is most notifications in a deployment with many topics.
func (s *signals) wakeTopic(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.topics[key] {
		l.wakeOne()
	}
}

// wakeGroup wakes one waiter of one group.
func (s *signals) wakeGroup(key string, group int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.topics[key][group]; l != nil {
		l.wakeOne()
	}
}

// wakeAll wakes one waiter of every group, after notifications may have
// been missed.
func (s *signals) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, groups := range s.topics {
		for _, l := range groups {
			l.wakeOne()
		}
	}
}

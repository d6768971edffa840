package memory

// delayHeap orders messages waiting for a future instant (DeliverAt or a
// redelivery backoff) by that instant, then by arrival, so one timer per
// group serves them all.
type delayHeap []*message

func (h delayHeap) less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}

func (h *delayHeap) push(m *message) {
	*h = append(*h, m)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// peek returns the earliest message; the heap must not be empty.
func (h delayHeap) peek() *message { return h[0] }

// pop removes the earliest message; the heap must not be empty.
func (h *delayHeap) pop() *message {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

package memory

// dedupWindow remembers the last n IDs published to a topic. A fixed ring of
// IDs bounds its memory; the map gives O(1) look-ups.
type dedupWindow struct {
	size int
	ids  []string // grows to size, then is overwritten oldest first
	next int
	seen map[string]struct{}
}

// newDedupWindow allocates lazily: most topics never come near n messages.
func newDedupWindow(n int) *dedupWindow {
	return &dedupWindow{size: n, seen: make(map[string]struct{})}
}

// add records id and reports whether it was new.
func (d *dedupWindow) add(id string) bool {
	if _, dup := d.seen[id]; dup {
		return false
	}
	if len(d.ids) < d.size {
		d.ids = append(d.ids, id)
	} else {
		delete(d.seen, d.ids[d.next])
		d.ids[d.next] = id
		d.next = (d.next + 1) % len(d.ids)
	}
	d.seen[id] = struct{}{}
	return true
}

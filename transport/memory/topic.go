package memory

import (
	"fmt"
	"sync"
	"time"
)

// topic fans published messages out to its groups. Its lock also orders
// publishes, so every group sees one topic's messages in the same order.
type topic struct {
	name string

	mu      sync.Mutex
	groups  []*group
	byName  map[string]*group
	backlog []retained   // published before any group existed
	dedup   *dedupWindow // nil: deduplication off
}

// retained is a message kept for the first group of a topic.
type retained struct {
	key string
	p   *payload
	at  time.Time
}

func newTopic(name string, dedupWindow int) *topic {
	tp := &topic{name: name, byName: make(map[string]*group)}
	if dedupWindow > 0 {
		tp.dedup = newDedupWindow(dedupWindow)
	}
	return tp
}

// publish hands the message to every group (or retains it) and reports
// false when it was dropped as a duplicate of id.
func (tp *topic) publish(id, key string, p *payload, at, now time.Time) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if id != "" && tp.dedup != nil && !tp.dedup.add(id) {
		return false
	}
	if len(tp.groups) == 0 {
		tp.backlog = append(tp.backlog, retained{key: key, p: p, at: at})
		return true
	}
	for _, g := range tp.groups {
		g.arrive(p, key, at, now)
	}
	return true
}

// join returns the named group, creating it; the first group of a topic
// inherits the retained backlog.
func (tp *topic) join(t *Transport, name string, keyed bool) (*group, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if g := tp.byName[name]; g != nil {
		if g.keyed != keyed {
			return nil, fmt.Errorf("memory: subscribe to %q: group %q has Keyed=%t, cannot join it with Keyed=%t", tp.name, name, g.keyed, keyed)
		}
		return g, nil
	}
	g := newGroup(t, tp.name, name, keyed)
	tp.groups = append(tp.groups, g)
	tp.byName[name] = g
	if len(tp.groups) == 1 && len(tp.backlog) > 0 {
		now := t.clock.Now()
		for _, r := range tp.backlog {
			g.arrive(r.p, r.key, r.at, now)
		}
		tp.backlog = nil
	}
	return g, nil
}

func (tp *topic) snapshotGroups() []*group {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]*group(nil), tp.groups...)
}

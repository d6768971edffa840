package functions

import (
	"bytes"
	"sync"

	"github.com/weftio/weft/core"
)

// stateCache keeps decoded workflow states between messages so the state
// engine does not decode the same JSON again and again (decoding was most
// of its CPU time). An entry is used only when the stored bytes are exactly
// the bytes it was encoded to, so a state written by another process, or
// re-created after expiry, is never mistaken for the cached one.
//
// Entries are taken out while a message is handled (Apply mutates the
// state in place) and put back only after a successful commit.
type stateCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cachedState
}

type cachedState struct {
	raw []byte
	// state is nil when only sent is known (see keepSent).
	state *core.WorkflowState
	// sent: this process published the state's outbox after writing it.
	sent bool
}

func newStateCache(max int) *stateCache {
	if max <= 0 {
		return nil
	}
	return &stateCache{max: max, entries: make(map[string]cachedState, max)}
}

// take removes and returns the cached state of id if raw matches it, and
// whether its outbox is known to be published.
func (c *stateCache) take(id string, raw []byte) (*core.WorkflowState, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.entries[id]
	delete(c.entries, id)
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.state, e.sent
}

// keepSent remembers, after a handling that took the cached state of id
// (stored as raw) and then failed to write its own, that raw's outbox is
// published: the state itself was changed by that handling, so it is not
// kept, but the next handling need not publish the outbox again.
func (c *stateCache) keepSent(id string, raw []byte) {
	c.put(id, raw, nil, true)
}

// markSent records that the outbox of the cached state of id (written as
// raw) is published.
func (c *stateCache) markSent(id string, raw []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok && bytes.Equal(e.raw, raw) {
		e.sent = true
		c.entries[id] = e
	}
}

// put caches the state of id as committed with bytes raw.
func (c *stateCache) put(id string, raw []byte, s *core.WorkflowState, sent bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k := range c.entries { // evict an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = cachedState{raw: raw, state: s, sent: sent}
}

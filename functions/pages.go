package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// errPageGone: a history page named is not stored (any more).
var errPageGone = errors.New("history page gone")

// pageCache keeps decoded history pages. Pages never change once written
// (their key names their content), so a cached page is always right; the
// cache only spares reading and decoding it again.
type pageCache struct {
	mu    sync.Mutex
	max   int
	pages map[string]*core.HistoryPage
	order []string // insertion order, for eviction
}

// defaultPageCache bounds the pages kept (a page holds ArchiveThreshold
// entries, some hundreds of kilobytes at most).
const defaultPageCache = 256

func (c *pageCache) get(key string) *core.HistoryPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pages[key]
}

func (c *pageCache) put(key string, p *core.HistoryPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil {
		c.pages = map[string]*core.HistoryPage{}
	}
	if _, ok := c.pages[key]; ok {
		return
	}
	for len(c.order) >= max(c.max, 1) {
		delete(c.pages, c.order[0])
		c.order = c.order[1:]
	}
	c.pages[key] = p
	c.order = append(c.order, key)
}

// history reads the history pages of method runs, for the state engine
// and for executors given workflow tasks that only name them.
type history struct {
	store storage.KeyValue
	pages pageCache
}

func newHistory(store storage.KeyValue) *history {
	return &history{store: store, pages: pageCache{max: defaultPageCache}}
}

// load returns the pages of refs: made by the handling under way (fresh,
// not written yet), cached, or read from the store.
func (e *history) load(ctx context.Context, refs []core.PageRef, fresh []core.StoredPage) ([]*core.HistoryPage, error) {
	out := make([]*core.HistoryPage, len(refs))
	var missing []string
	var at []int
	for i, r := range refs {
		if k := slices.IndexFunc(fresh, func(p core.StoredPage) bool { return p.Key == r.Key }); k >= 0 {
			out[i] = fresh[k].Page
			continue
		}
		if p := e.pages.get(r.Key); p != nil {
			out[i] = p
			continue
		}
		missing, at = append(missing, r.Key), append(at, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	entries, err := e.store.GetMany(ctx, missing)
	if err != nil {
		return nil, Unavailable(fmt.Errorf("load history pages: %w", err))
	}
	for k, ent := range entries {
		if ent.Version == 0 {
			return nil, Permanent("stored state names a history page that is gone", fmt.Errorf("page %s: %w", missing[k], errPageGone))
		}
		p, err := core.DecodePage(ent.Value)
		if err != nil {
			return nil, Permanent("stored history page cannot be read", err)
		}
		e.pages.put(missing[k], p)
		out[at[k]] = p
	}
	return out, nil
}

// expand returns t with its method run's whole history, its pages merged
// in: what a replay, here or on an executor, needs. A run without pages
// is returned as is; fresh are the pages the handling made so far.
func (e *history) expand(ctx context.Context, t *core.ExecuteWorkflowTask, fresh []core.StoredPage) (*core.ExecuteWorkflowTask, error) {
	if len(t.Method.Pages) == 0 {
		return t, nil
	}
	pages, err := e.load(ctx, t.Method.Pages, fresh)
	if err != nil {
		return nil, err
	}
	run, props, err := t.Method.Merge(pages)
	if err != nil {
		return nil, Permanent("stored history does not match its state", err)
	}
	full := *t
	full.Method = run
	full.Props = maps.Clone(t.Props)
	if full.Props == nil {
		full.Props = map[string]json.RawMessage{}
	}
	maps.Copy(full.Props, props)
	return &full, nil
}

// pageWrites are the writes that go with a state write: the new pages
// (each at the version it has, should it exist already: its content is
// the same) and the deletion of the dropped ones.
func (e *StateEngine) pageWrites(ctx context.Context, pages []core.StoredPage, dropped []string) ([]storage.Write, error) {
	gone := map[string]bool{}
	for _, k := range dropped {
		gone[k] = true
	}
	var written []core.StoredPage
	for _, p := range pages {
		if !gone[p.Key] { // a page made and dropped in one handling is not written
			written = append(written, p)
		}
	}
	pages = written
	keys := make([]string, 0, len(pages)+len(dropped))
	for _, p := range pages {
		keys = append(keys, p.Key)
	}
	keys = append(keys, dropped...)
	if len(keys) == 0 {
		return nil, nil
	}
	entries, err := e.cfg.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, Unavailable(fmt.Errorf("read history pages: %w", err))
	}
	var writes []storage.Write
	seen := map[string]bool{}
	for i, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if i < len(pages) {
			writes = append(writes, storage.Write{Key: k, Value: pages[i].Value, Expected: entries[i].Version})
		} else if entries[i].Version > 0 {
			writes = append(writes, storage.Write{Key: k, Expected: entries[i].Version})
		}
	}
	return writes, nil
}

// Package jsonfilter evaluates the JSONPath filters of signal receptions
// (weft.WhereJSONPath, core.SignalFilter.Expr) with RFC 9535 JSONPath, as
// implemented by github.com/theory/jsonpath. core cannot import the library
// (it is stdlib-only), so the state engine hands Match to core.ApplyWith.
//
// # Filter form
//
// A filter is an RFC 9535 query whose first segment is a filter selector,
// e.g.
//
//	$[?@.amount > 100 && @.currency == "EUR"]
//	$[?@.customer.tier == "gold"]
//	$[?@.items[?@.sku == "A1"]]       (some item has sku A1)
//	$[?@.note]                         (the signal has a "note" member)
//	$[?match(@.ref, "INV-[0-9]+")]
//
// The query runs against a one-element array holding the signal, so @ in
// the first filter is the signal itself, and the signal matches when the
// query selects at least one node (as a Jayway JsonPath filter does in
// Infinitic). Further segments may follow the filter
// ($[?@.kind == "order"].lines[?@.qty > 1]); the signal then matches when
// they select something too. A query that does not start with a filter
// selector (such as $.kind, which would select nothing from the wrapping
// array) is rejected as invalid, so it never silently matches nothing.
package jsonfilter

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/theory/jsonpath"
	"github.com/theory/jsonpath/spec"
)

// ErrInvalid is wrapped by every error about a query that is not a valid
// filter.
var ErrInvalid = errors.New("invalid JSONPath filter")

// MaxQueryLength bounds the length of a filter query in bytes.
const MaxQueryLength = 4096

// DefaultCacheSize is the number of parsed queries the Default evaluator
// keeps.
const DefaultCacheSize = 1024

// Evaluator parses filter queries, keeps the most recently used ones in a
// bounded cache, and evaluates them on signals. It is safe for concurrent
// use.
type Evaluator struct {
	parser *jsonpath.Parser
	size   int

	mu    sync.Mutex
	lru   *list.List // of *entry, most recently used first
	items map[string]*list.Element
}

type entry struct {
	query string
	path  *jsonpath.Path
	err   error
}

// New returns an evaluator caching up to size parsed queries (at least 1).
func New(size int) *Evaluator {
	return &Evaluator{parser: jsonpath.NewParser(), size: max(size, 1), lru: list.New(), items: map[string]*list.Element{}}
}

// Default is the evaluator used by the package-level functions.
var Default = New(DefaultCacheSize)

// Validate reports whether query is a valid filter (see the package doc).
func Validate(query string) error { return Default.Validate(query) }

// Match reports whether the signal data passes the filter query. It is
// false for an invalid query and for data that is not JSON. Its signature
// is that of core.Matcher.
func Match(query string, data json.RawMessage) bool { return Default.Match(query, data) }

// Validate reports whether query is a valid filter; the error wraps
// ErrInvalid.
func (e *Evaluator) Validate(query string) error {
	_, err := e.compile(query)
	return err
}

// Match reports whether the signal data passes the filter query; false for
// an invalid query or data that is not JSON.
func (e *Evaluator) Match(query string, data json.RawMessage) bool {
	ok, err := e.Eval(query, data)
	return ok && err == nil
}

// Eval is Match with the reason when the filter cannot be evaluated: an
// invalid query (wrapping ErrInvalid) or data that is not JSON.
func (e *Evaluator) Eval(query string, data json.RawMessage) (matched bool, err error) {
	p, err := e.compile(query)
	if err != nil {
		return false, err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return false, fmt.Errorf("signal is not JSON: %w", err)
	}
	defer func() {
		// A library bug must not take the state engine down; the signal
		// then simply does not pass this filter, the same way every time.
		if r := recover(); r != nil {
			matched, err = false, fmt.Errorf("JSONPath filter %q failed on the signal: %v", query, r)
		}
	}()
	return len(p.Select([]any{v})) > 0, nil
}

// Cached returns how many parsed queries are cached.
func (e *Evaluator) Cached() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lru.Len()
}

// compile returns the parsed query from the cache or parses and checks it.
// Invalid queries are cached too, with their error.
func (e *Evaluator) compile(query string) (*jsonpath.Path, error) {
	e.mu.Lock()
	if el, ok := e.items[query]; ok {
		e.lru.MoveToFront(el)
		en := el.Value.(*entry)
		e.mu.Unlock()
		return en.path, en.err
	}
	e.mu.Unlock()

	p, err := e.parse(query)
	en := &entry{query: query, path: p, err: err}

	e.mu.Lock()
	defer e.mu.Unlock()
	if el, ok := e.items[query]; ok { // parsed meanwhile by another caller
		e.lru.MoveToFront(el)
		return p, err
	}
	e.items[query] = e.lru.PushFront(en)
	for e.lru.Len() > e.size {
		old := e.lru.Back()
		e.lru.Remove(old)
		delete(e.items, old.Value.(*entry).query)
	}
	return p, err
}

func (e *Evaluator) parse(query string) (*jsonpath.Path, error) {
	invalid := func(reason string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalid, shorten(query), reason)
	}
	switch {
	case strings.TrimSpace(query) == "":
		return nil, invalid("the query is empty")
	case len(query) > MaxQueryLength:
		return nil, invalid(fmt.Sprintf("longer than %d bytes", MaxQueryLength))
	}
	p, err := e.parser.Parse(query)
	if err != nil {
		return nil, invalid(err.Error())
	}
	segs := p.Query().Segments()
	if len(segs) == 0 || segs[0].IsDescendant() || !allFilters(segs[0].Selectors()) {
		return nil, invalid(`it must start with a filter selector whose @ is the signal, e.g. $[?@.kind == "order"]`)
	}
	return p, nil
}

func allFilters(sels []spec.Selector) bool {
	for _, s := range sels {
		if _, ok := s.(*spec.FilterSelector); !ok {
			return false
		}
	}
	return len(sels) > 0
}

func shorten(q string) string {
	const n = 200
	if len(q) <= n {
		return q
	}
	return q[:n] + "…"
}

package jsonfilter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const order = `{
  "kind": "order",
  "amount": 150,
  "ratio": 0.25,
  "currency": "EUR",
  "ref": "INV-2041",
  "paid": false,
  "note": null,
  "customer": {"id": "c-9", "tier": "gold", "address": {"country": "FR"}},
  "items": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}],
  "tags": ["rush", "gift"]
}`

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		query string
		data  string
		want  bool
	}{
		// numbers
		{`$[?@.amount > 100]`, order, true},
		{`$[?@.amount > 150]`, order, false},
		{`$[?@.amount == 150.0]`, order, true},
		{`$[?@.amount >= 150 && @.amount < 151]`, order, true},
		{`$[?@.ratio < 0.3]`, order, true},
		{`$[?@.amount == "150"]`, order, false}, // a string is not a number
		// strings, booleans, null
		{`$[?@.currency == "EUR"]`, order, true},
		{`$[?@.currency == 'EUR']`, order, true},
		{`$[?@.currency == "USD"]`, order, false},
		{`$[?@.currency != "USD"]`, order, true},
		{`$[?@.paid == false]`, order, true},
		{`$[?@.paid == true]`, order, false},
		{`$[?@.note == null]`, order, true},
		{`$[?@.missing == null]`, order, false}, // absent is not null
		// combined and nested
		{`$[?@.amount > 100 && @.currency == "EUR"]`, order, true},
		{`$[?@.amount > 100 && @.currency == "USD"]`, order, false},
		{`$[?@.amount > 1000 || @.customer.tier == "gold"]`, order, true},
		{`$[?!(@.customer.tier == "gold")]`, order, false},
		{`$[?@.customer.address.country == "FR"]`, order, true},
		{`$[?@['customer']['address']['country'] == "DE"]`, order, false},
		// existence
		{`$[?@.note]`, order, true}, // present, even though null
		{`$[?@.customer.id]`, order, true},
		{`$[?@.discount]`, order, false},
		{`$[?!@.discount]`, order, true},
		// arrays
		{`$[?@.items[?@.sku == "A1"]]`, order, true},
		{`$[?@.items[?@.sku == "Z9"]]`, order, false},
		{`$[?@.items[?@.qty > 1 && @.sku == "A1"]]`, order, true},
		{`$[?@.items[0].sku == "A1"]`, order, true},
		{`$[?@.items[-1].sku == "A1"]`, order, false},
		{`$[?length(@.items) == 2]`, order, true},
		{`$[?@.tags[?@ == "gift"]]`, order, true},
		{`$[?count(@.tags[*]) > 2]`, order, false},
		// functions
		{`$[?match(@.ref, "INV-[0-9]+")]`, order, true},
		{`$[?match(@.ref, "INV")]`, order, false}, // match is anchored
		{`$[?search(@.ref, "20")]`, order, true},
		// further segments after the filter must select something too
		{`$[?@.kind == "order"].items[?@.qty > 1]`, order, true},
		{`$[?@.kind == "order"].items[?@.qty > 5]`, order, false},
		// several filter selectors: any of them
		{`$[?@.kind == "refund", ?@.amount > 100]`, order, true},
		// the signal need not be an object
		{`$[?@ == 42]`, `42`, true},
		{`$[?@ == "go"]`, `"go"`, true},
		{`$[?@[?@ > 2]]`, `[1, 2, 3]`, true},
		{`$[?@[?@ > 3]]`, `[1, 2, 3]`, false},
		{`$[?@.amount > 100]`, `null`, false},
		{`$[?@.amount > 100]`, `[{"amount": 500}]`, false}, // @ is the array, not its element
	}
	e := New(8)
	for _, c := range cases {
		got, err := e.Eval(c.query, json.RawMessage(c.data))
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s on %.40s: matched = %v, want %v", c.query, c.data, got, c.want)
		}
		if m := e.Match(c.query, json.RawMessage(c.data)); m != c.want {
			t.Errorf("%s: Match = %v but Eval = %v", c.query, m, got)
		}
	}
}

func TestInvalidQueries(t *testing.T) {
	t.Parallel()
	e := New(8)
	for _, q := range []string{
		"",
		"   ",
		`$[?@.amount >]`,
		`$[?@.amount > 100`,
		`[?(@.amount > 100)]`, // Jayway form without the root
		`$[?(@.a == 'x')`,
		`$[?@.a == "x"]]`,
		`$.kind`,               // valid JSONPath, but not a filter: would never match
		`$[0]`,                 // selects the wrapper's element, not a filter
		`$..[?@.amount > 100]`, // descendant first segment
		`$[?@.a > 1, 0]`,       // a non-filter selector among filters
		`$`,
		`$[?nosuchfunc(@.a)]`,
		`$[?length(@.a)]`, // length() is a value, not a test
		"$[?@.a == \"" + strings.Repeat("x", MaxQueryLength) + "\"]",
	} {
		err := e.Validate(q)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%.60q) = %v, want ErrInvalid", q, err)
			continue
		}
		if len(err.Error()) > 600 {
			t.Errorf("Validate(%.60q): error of %d bytes", q, len(err.Error()))
		}
		if ok, err := e.Eval(q, json.RawMessage(order)); ok || !errors.Is(err, ErrInvalid) {
			t.Errorf("Eval(%.60q) = %v, %v; want false, ErrInvalid", q, ok, err)
		}
		if e.Match(q, json.RawMessage(order)) {
			t.Errorf("Match(%.60q) = true for an invalid query", q)
		}
	}
	if err := e.Validate(`$.kind`); err == nil || !strings.Contains(err.Error(), "filter selector") {
		t.Errorf("the error for $.kind does not say a filter selector is needed: %v", err)
	}
	for _, q := range []string{`$[?@.a]`, `$[ ?@.a == 1 ]`, `$[?@.a == 1].b`} {
		if err := e.Validate(q); err != nil {
			t.Errorf("Validate(%q) = %v, want valid", q, err)
		}
	}
}

func TestNonJSONData(t *testing.T) {
	t.Parallel()
	e := New(8)
	for _, data := range []string{"", "{", `{"amount": 500`, "not json", `{"amount": 500} trailing`, "\x00\xff"} {
		ok, err := e.Eval(`$[?@.amount > 100]`, json.RawMessage(data))
		if ok || err == nil || errors.Is(err, ErrInvalid) {
			t.Errorf("Eval on %q = %v, %v; want false and a data error", data, ok, err)
		}
		if e.Match(`$[?@.amount > 100]`, json.RawMessage(data)) {
			t.Errorf("Match on %q = true", data)
		}
	}
}

func TestCacheIsBoundedAndReused(t *testing.T) {
	t.Parallel()
	e := New(3)
	data := json.RawMessage(`{"n": 2}`)
	for i := range 10 {
		e.Match(fmt.Sprintf(`$[?@.n == %d]`, i), data)
	}
	if n := e.Cached(); n != 3 {
		t.Fatalf("cached %d queries, want 3", n)
	}
	// The most recent ones stay; a hit refreshes an entry.
	e.Match(`$[?@.n == 7]`, data)
	e.Match(`$[?@.n == 0]`, data) // evicts 8, the least recently used
	e.mu.Lock()
	_, has7 := e.items[`$[?@.n == 7]`]
	_, has8 := e.items[`$[?@.n == 8]`]
	e.mu.Unlock()
	if !has7 || has8 {
		t.Errorf("after a hit on 7 and a miss: has7=%v has8=%v, want true false", has7, has8)
	}
	// Invalid queries are cached with their error, which stays the same.
	e1 := e.Validate(`$[?@.n >]`)
	e2 := e.Validate(`$[?@.n >]`)
	if e1 == nil || e1 != e2 {
		t.Errorf("invalid query: %v then %v, want the same cached error", e1, e2)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := New(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				q := fmt.Sprintf(`$[?@.n == %d]`, (g+i)%6)
				want := (g+i)%6 == 3
				if got := e.Match(q, json.RawMessage(`{"n": 3}`)); got != want {
					t.Errorf("%s: %v", q, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPackageLevelFunctionsUseDefault(t *testing.T) {
	t.Parallel()
	if !Match(`$[?@.kind == "order"]`, json.RawMessage(order)) || Match(`$[?@.kind == "refund"]`, json.RawMessage(order)) {
		t.Error("Match does not filter on kind")
	}
	if err := Validate(`$.kind`); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate($.kind) = %v", err)
	}
}

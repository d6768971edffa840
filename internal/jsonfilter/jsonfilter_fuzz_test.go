package jsonfilter

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzEval evaluates filters (workflow code) on signals (outside input):
// never a panic, an invalid query is an ErrInvalid, data that is not JSON
// is an error, and the answer is the same from the cache, from a fresh
// evaluator and through Match.
func FuzzEval(f *testing.F) {
	signal := `{"amount":150,"currency":"EUR","paid":false,"note":null,"ref":"INV-2026","kind":"order",` +
		`"customer":{"id":"c1","tier":"gold","address":{"country":"FR"}},"items":[{"sku":"A1","qty":2},{"sku":"B2","qty":1}],"tags":["gift","x","y"]}`
	for _, q := range []string{
		`$[?@.amount > 100 && @.currency == "EUR"]`, `$[?@.currency == 'EUR']`, `$[?@.note == null]`, `$[?!(@.customer.tier == "gold")]`,
		`$[?@['customer']['address']['country'] == "DE"]`, `$[?@.items[?@.qty > 1 && @.sku == "A1"]]`, `$[?@.items[-1].sku == "A1"]`,
		`$[?length(@.items) == 2]`, `$[?count(@.tags[*]) > 2]`, `$[?match(@.ref, "INV-[0-9]+")]`, `$[?search(@.ref, "20")]`,
		`$[?@.kind == "order"].items[?@.qty > 1]`, `$[?@.kind == "refund", ?@.amount > 100]`, `$[?@..sku == "A1"]`, `$[?value(@..qty) == 2]`,
		`$.kind`, `$..[?@]`, `$[0]`, ``, ` `, `$[?`, `$[?@.a == 1e400]`, `$[?match(@.ref, "(a*)*b")]`,
	} {
		f.Add(q, []byte(signal))
	}
	for _, d := range []string{`42`, `"go"`, `null`, `[]`, `{}`, `[1,[2,[3]]]`, `not json`, ``, `{"a":1}{"b":2}`, `{"a":1,"a":2}`} {
		f.Add(`$[?@ == 42 || @.a == 2 || @[0] == 1]`, []byte(d))
	}
	cached := New(8)
	f.Fuzz(func(t *testing.T, query string, data []byte) {
		verr := Validate(query)
		if verr != nil && !errors.Is(verr, ErrInvalid) {
			t.Fatalf("Validate(%q) = %v, not an ErrInvalid", query, verr)
		}
		got, err := cached.Eval(query, data)
		fresh, ferr := New(1).Eval(query, data)
		if got != fresh || (err == nil) != (ferr == nil) {
			t.Fatalf("cached %v %v, fresh %v %v", got, err, fresh, ferr)
		}
		if again, aerr := cached.Eval(query, data); again != got || (aerr == nil) != (err == nil) {
			t.Fatalf("second evaluation %v %v, first %v %v", again, aerr, got, err)
		}
		if m := cached.Match(query, data); m != (got && err == nil) {
			t.Fatalf("Match = %v, Eval = %v, %v", m, got, err)
		}
		switch {
		case verr != nil:
			if got || !errors.Is(err, ErrInvalid) {
				t.Fatalf("invalid query %q evaluated to %v, %v", query, got, err)
			}
		case !json.Valid(data):
			if got || err == nil {
				t.Fatalf("data that is not JSON evaluated to %v, %v", got, err)
			}
		case got && err != nil:
			t.Fatalf("matched with an error %v", err)
		}
	})
}

package memory

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// FuzzPageCursor pages a set from a cursor from outside: the page is an
// error or members of that set only, in insertion order, each once, and
// paging on from it reaches the end of the set.
func FuzzPageCursor(f *testing.F) {
	ctx := context.Background()
	s := New()
	var want []string // the members of "a" in insertion order
	for i := range 90 {
		for _, key := range []string{"a", "b"} {
			m := fmt.Sprintf("%s%02d", key, i)
			if err := s.Add(ctx, key, []byte(m)); err != nil {
				f.Fatal(err)
			}
			if key == "a" {
				want = append(want, m)
			}
		}
	}
	var live []string
	for i, m := range want { // tombstones, then a compaction
		if i%3 == 0 {
			live = append(live, m)
		} else if err := s.Remove(ctx, "a", []byte(m)); err != nil {
			f.Fatal(err)
		}
	}
	want = live
	_, next, err := s.Page(ctx, "a", "", 5)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []string{"", next, encodeCursor(1), encodeCursor(99), encodeCursor(180), encodeCursor(1 << 62), "m1.", "m1.0", "m1.-1", "r1.YQ", "pg1.5"} {
		f.Add(c, 5)
	}
	f.Add(next, 0)
	f.Add(next, -1)
	f.Add(next, 1<<62)
	f.Fuzz(func(t *testing.T, cursor string, limit int) {
		page, next, err := s.Page(ctx, "a", cursor, limit)
		if err != nil {
			if page != nil || next != "" {
				t.Fatalf("error %v with a page", err)
			}
			return
		}
		if limit <= 0 || len(page) > limit {
			t.Fatalf("limit %d: %d members", limit, len(page))
		}
		got := make([]string, len(page))
		for i, m := range page {
			got[i] = string(m)
		}
		for next != "" {
			more, n, err := s.Page(ctx, "a", next, 7)
			if err != nil {
				t.Fatalf("next cursor %q: %v", next, err)
			}
			if len(more) == 0 {
				t.Fatalf("next cursor %q gave an empty page", next)
			}
			for _, m := range more {
				got = append(got, string(m))
			}
			next = n
		}
		// From any position, the rest of the set, in order.
		if len(got) > len(want) || !slices.Equal(got, want[len(want)-len(got):]) {
			t.Fatalf("cursor %q: paged %q, not a tail of %q", cursor, got, want)
		}
	})
}

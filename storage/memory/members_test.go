package memory

import (
	"fmt"
	"testing"
)

func TestCompactionKeepsPagingStable(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := t.Context()
	const n = 1000
	for i := range n {
		s.Add(ctx, "set", fmt.Appendf(nil, "m%04d", i))
	}
	// Take one page, then remove enough members to force compaction several
	// times, keeping every tenth.
	first, cursor, err := s.Page(ctx, "set", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if i%10 != 0 {
			s.Remove(ctx, "set", fmt.Appendf(nil, "m%04d", i))
		}
	}
	set := s.sets[s.shardIndex("set")].sets["set"]
	if set.dead*2 > len(set.order) {
		t.Fatalf("not compacted: %d tombstones in %d slots", set.dead, len(set.order))
	}
	seen := map[string]bool{}
	for _, m := range first {
		seen[string(m)] = true
	}
	for cursor != "" {
		var ms [][]byte
		ms, cursor, err = s.Page(ctx, "set", cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if seen[string(m)] {
				t.Fatalf("%s returned twice", m)
			}
			seen[string(m)] = true
		}
	}
	for i := 0; i < n; i += 10 {
		if !seen[fmt.Sprintf("m%04d", i)] {
			t.Fatalf("m%04d skipped", i)
		}
	}
}

func TestRecreatedSetDoesNotReuseCursors(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := t.Context()
	s.Add(ctx, "set", []byte("a"))
	s.Add(ctx, "set", []byte("b"))
	_, cursor, _ := s.Page(ctx, "set", "", 1)
	s.Remove(ctx, "set", []byte("a"))
	s.Remove(ctx, "set", []byte("b")) // set dropped
	s.Add(ctx, "set", []byte("c"))
	ms, next, err := s.Page(ctx, "set", cursor, 10)
	if err != nil || len(ms) != 1 || string(ms[0]) != "c" || next != "" {
		t.Fatalf("Page after re-create = (%q, %q, %v), want ([c], \"\", nil)", ms, next, err)
	}
}

func TestInvalidCursor(t *testing.T) {
	s := New()
	defer s.Close()
	s.Add(t.Context(), "set", []byte("a"))
	for _, c := range []string{"garbage", "m1.", "m1.!!", "m1.0", "0"} {
		if _, _, err := s.Page(t.Context(), "set", c, 10); err == nil {
			t.Errorf("Page(cursor %q): no error", c)
		}
	}
	// The largest valid cursor is past everything, not a wrap to the start.
	ms, next, err := s.Page(t.Context(), "set", encodeCursor(^uint64(0)), 10)
	if err != nil || len(ms) != 0 || next != "" {
		t.Fatalf("Page(max cursor) = (%q, %q, %v), want empty", ms, next, err)
	}
}

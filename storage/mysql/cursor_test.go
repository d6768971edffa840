package mysql

import "testing"

func TestCursorRoundTrip(t *testing.T) {
	for _, id := range []uint64{1, 35, 36, 1 << 40, ^uint64(0)} {
		got, err := decodeCursor(encodeCursor(id))
		if err != nil || got != id {
			t.Errorf("decodeCursor(encodeCursor(%d)) = (%d, %v)", id, got, err)
		}
	}
	if got, err := decodeCursor(""); err != nil || got != 0 {
		t.Errorf(`decodeCursor("") = (%d, %v), want (0, nil)`, got, err)
	}
}

func TestInvalidCursor(t *testing.T) {
	for _, c := range []string{"garbage", "my1.", "my1.!!", "my1.0", "m1.5", "0", "my1.-1"} {
		if _, err := decodeCursor(c); err == nil {
			t.Errorf("decodeCursor(%q): no error", c)
		}
	}
}

func TestPageCursorEdges(t *testing.T) {
	t.Parallel()
	s := newStore(t, freshConfig(t))
	ctx := t.Context()
	if err := s.Add(ctx, "set", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Page(ctx, "set", "garbage", 10); err == nil {
		t.Error("Page with a garbage cursor: no error")
	}
	// The largest cursor is past everything, not a wrap to the start.
	ms, next, err := s.Page(ctx, "set", encodeCursor(^uint64(0)), 10)
	if err != nil || len(ms) != 0 || next != "" {
		t.Fatalf("Page(max cursor) = (%q, %q, %v), want empty", ms, next, err)
	}
	// A huge limit is capped, not overflowed.
	ms, next, err = s.Page(ctx, "set", "", int(^uint(0)>>1))
	if err != nil || len(ms) != 1 || next != "" {
		t.Fatalf("Page(max int limit) = (%q, %q, %v)", ms, next, err)
	}
}

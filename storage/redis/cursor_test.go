package redis

import (
	"strings"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, m := range []string{"", "\x00", "a", "\xff\xfe", "with space/and+slash", strings.Repeat("\x00\xff", 300)} {
		got, err := decodeCursor(encodeCursor(m))
		if err != nil || got != "("+m {
			t.Errorf("decode(encode(%q)) = %q, %v", m, got, err)
		}
	}
	if got, err := decodeCursor(""); err != nil || got != "-" {
		t.Errorf(`decode("") = %q, %v; want "-"`, got, err)
	}
}

func TestCursorRejectsForeign(t *testing.T) {
	for _, c := range []string{"0", "m1.5", "r1.!!", "r2.YQ", "(a", "-"} {
		if _, err := decodeCursor(c); err == nil {
			t.Errorf("decode(%q): no error", c)
		}
	}
}

func TestEntryOf(t *testing.T) {
	if e, err := entryOf([]any{nil, nil}); err != nil || e.Version != 0 || e.Value != nil {
		t.Errorf("absent = %+v, %v", e, err)
	}
	if e, err := entryOf([]any{"", "3"}); err != nil || e.Version != 3 || e.Value == nil || len(e.Value) != 0 {
		t.Errorf("empty value = %+v, %v; want non-nil empty value at version 3", e, err)
	}
	for _, bad := range []any{"0", "x", "-1"} {
		if _, err := entryOf([]any{"v", bad}); err == nil {
			t.Errorf("version %q: no error", bad)
		}
	}
}

func TestTTLMillis(t *testing.T) {
	for _, c := range []struct {
		ttl  time.Duration
		want string
	}{
		{0, "0"}, {-time.Second, "0"}, {time.Nanosecond, "1"}, {time.Millisecond, "1"},
		{1500 * time.Microsecond, "2"}, {time.Hour, "3600000"}, {1<<63 - 1, "9223372036855"},
	} {
		if got := ttlMillis(c.ttl); got != c.want {
			t.Errorf("ttlMillis(%v) = %s, want %s", c.ttl, got, c.want)
		}
	}
}

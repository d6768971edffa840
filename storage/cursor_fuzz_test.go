package storage

import (
	"strings"
	"testing"
)

// FuzzIDCursor decodes cursors from outside: a cursor is the start (0), a
// positive number, or an error naming the driver; a number always encodes
// to a cursor that decodes to it, and no cursor of another prefix is read.
func FuzzIDCursor(f *testing.F) {
	c := IDCursor{Driver: "test", Prefix: "t1."}
	for _, s := range []string{"", c.Encode(1), c.Encode(36), c.Encode(^uint64(0)), "t1.", "t1.0", "t1.-1", "t1.+1", "t1.ZZ", "t1.1_0", "u1.5", "t1.3w5e11264sgsg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := c.Decode(s)
		if err != nil {
			if n != 0 || !strings.HasPrefix(err.Error(), "test: invalid page cursor") {
				t.Fatalf("Decode(%q) = %d, %v", s, n, err)
			}
			return
		}
		if s == "" {
			if n != 0 {
				t.Fatalf(`Decode("") = %d`, n)
			}
			return
		}
		if n == 0 || !strings.HasPrefix(s, c.Prefix) {
			t.Fatalf("Decode(%q) = %d", s, n)
		}
		if back, err := c.Decode(c.Encode(n)); err != nil || back != n {
			t.Fatalf("Decode(Encode(%d)) = %d, %v", n, back, err)
		}
	})
}

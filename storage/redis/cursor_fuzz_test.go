package redis

import (
	"strings"
	"testing"
)

// FuzzDecodeCursor: a cursor from outside is the start, an exclusive lower
// bound (never an inclusive or open one, which would read members before
// it), or an error; a member always encodes to a cursor decoding to it.
func FuzzDecodeCursor(f *testing.F) {
	for _, c := range []string{"", encodeCursor("a"), encodeCursor("\x00\xff"), "r1.", "r1.!!", "r1.YQ==", "r2.YQ", "-", "(a", "[a", "+"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		b, err := decodeCursor(c)
		if err != nil {
			if b != "" || !strings.HasPrefix(err.Error(), "redis: invalid page cursor") {
				t.Fatalf("decodeCursor(%q) = %q, %v", c, b, err)
			}
			return
		}
		if c == "" {
			if b != "-" {
				t.Fatalf(`decodeCursor("") = %q`, b)
			}
			return
		}
		last, ok := strings.CutPrefix(b, "(")
		if !ok {
			t.Fatalf("decodeCursor(%q) = %q, not an exclusive bound", c, b)
		}
		if again, err := decodeCursor(encodeCursor(last)); err != nil || again != b {
			t.Fatalf("decodeCursor(encodeCursor(%q)) = %q, %v", last, again, err)
		}
	})
}

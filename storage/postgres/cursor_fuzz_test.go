package postgres

import (
	"math"
	"strings"
	"testing"
)

// FuzzDecodeCursor: a cursor from outside is the start (0), a BIGSERIAL id
// (1..MaxInt64) or an error; an id always encodes to a cursor decoding to it.
func FuzzDecodeCursor(f *testing.F) {
	for _, c := range []string{"", encodeCursor(1), encodeCursor(math.MaxInt64), "pg1.", "pg1.0", "pg1.-1", "pg1.3w5e11264sgsh", "pg1.3w5e11264sgsg", "my1.5"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		id, err := decodeCursor(c)
		if err != nil {
			if id != 0 || !strings.HasPrefix(err.Error(), "postgres: invalid page cursor") {
				t.Fatalf("decodeCursor(%q) = %d, %v", c, id, err)
			}
			return
		}
		if (c == "") != (id == 0) || id < 0 {
			t.Fatalf("decodeCursor(%q) = %d", c, id)
		}
		if id > 0 {
			if back, err := decodeCursor(encodeCursor(id)); err != nil || back != id {
				t.Fatalf("decodeCursor(encodeCursor(%d)) = %d, %v", id, back, err)
			}
		}
	})
}

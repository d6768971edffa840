package mysql

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkPutGet measures the state engine's pattern, a versioned write
// followed by a read, against the test server (round trips dominate).
func BenchmarkPutGet(b *testing.B) {
	value := []byte("a small value of about 32 bytes!")
	run := func(b *testing.B, parallel bool) {
		s := newStore(b, freshConfig(b))
		var ids atomic.Int64
		loop := func(next func() bool) {
			key := "key-" + strconv.FormatInt(ids.Add(1), 10)
			var ver uint64
			for next() {
				v, err := s.Put(b.Context(), key, value, ver, 0)
				if err != nil {
					b.Error(err)
					return
				}
				ver = v
				if _, _, err := s.Get(b.Context(), key); err != nil {
					b.Error(err)
					return
				}
			}
		}
		if parallel {
			b.RunParallel(func(pb *testing.PB) { loop(pb.Next) })
		} else {
			loop(b.Loop)
		}
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

package memory_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/storage/storagetest"
)

func newStore(t *testing.T) *memory.Store {
	s := memory.New()
	t.Cleanup(func() { s.Close() })
	return s
}

func TestKeyValue(t *testing.T) {
	storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue { return newStore(t) })
}

func TestKeySet(t *testing.T) {
	storagetest.RunKeySet(t, func(t *testing.T) storage.KeySet { return newStore(t) })
}

// BenchmarkPutGet measures the embedded runtime's common pattern: a
// versioned write of a small value followed by a read.
func BenchmarkPutGet(b *testing.B) {
	value := []byte("a small value of about 32 bytes!")

	b.Run("serial", func(b *testing.B) {
		s := memory.New()
		defer s.Close()
		ctx := b.Context()
		var ver uint64
		b.ReportAllocs()
		for b.Loop() {
			v, err := s.Put(ctx, "key", value, ver, 0)
			if err != nil {
				b.Fatal(err)
			}
			ver = v
			if _, _, err := s.Get(ctx, "key"); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("parallel", func(b *testing.B) {
		s := memory.New()
		defer s.Close()
		ctx := b.Context()
		var ids atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			key := "key-" + strconv.FormatInt(ids.Add(1), 10)
			var ver uint64
			for pb.Next() {
				v, err := s.Put(ctx, key, value, ver, 0)
				if err != nil {
					b.Error(err)
					return
				}
				ver = v
				if _, _, err := s.Get(ctx, key); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

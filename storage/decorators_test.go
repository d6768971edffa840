package storage_test

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/storage/storagetest"
)

func TestCompressedConformance(t *testing.T) {
	for _, c := range []storage.Compression{storage.CompressionNone, storage.CompressionGzip, storage.CompressionDeflate, storage.CompressionBzip2} {
		t.Run(string(c)+"/", func(t *testing.T) {
			storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue {
				return storage.Compressed(memory.New(), c)
			})
		})
	}
}

func TestCachedConformance(t *testing.T) {
	cfg := storage.CacheConfig{MaximumSize: 100, ExpireAfterWrite: time.Minute, ExpireAfterAccess: time.Minute}
	storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue { return storage.CachedKeyValue(memory.New(), cfg) })
	storagetest.RunKeySet(t, func(t *testing.T) storage.KeySet { return storage.CachedKeySet(memory.New(), cfg) })
}

// TestCompressionChangesWithDataInPlace writes a value under each format and
// reads all of them back through a store configured with yet another one.
func TestCompressionChangesWithDataInPlace(t *testing.T) {
	ctx := context.Background()
	base := memory.New()
	value := []byte(strings.Repeat(`{"workflow":"state","history":[1,2,3]}`, 200))
	formats := []storage.Compression{storage.CompressionNone, storage.CompressionGzip, storage.CompressionDeflate, storage.CompressionBzip2}
	for _, c := range formats {
		if _, err := storage.Compressed(base, c).Put(ctx, "k-"+string(c), value, 0, 0); err != nil {
			t.Fatal(err)
		}
		raw, _, _ := base.Get(ctx, "k-"+string(c))
		if got := storage.Detect(raw); got != c {
			t.Errorf("value written with %q detected as %q", c, got)
		}
		if c != storage.CompressionNone && len(raw) >= len(value) {
			t.Errorf("%s did not shrink a repetitive value: %d >= %d", c, len(raw), len(value))
		}
	}
	for _, reader := range formats {
		s := storage.Compressed(base, reader)
		for _, c := range formats {
			got, v, err := s.Get(ctx, "k-"+string(c))
			if err != nil || v != 1 || !bytes.Equal(got, value) {
				t.Fatalf("reading %s with setting %s: %v v%d, equal=%v", c, reader, err, v, bytes.Equal(got, value))
			}
		}
	}
	es, err := storage.Compressed(base, storage.CompressionGzip).GetMany(ctx, []string{"k-bzip2", "missing", "k-"})
	if err != nil || !bytes.Equal(es[0].Value, value) || es[1].Version != 0 || !bytes.Equal(es[2].Value, value) {
		t.Fatalf("GetMany across formats: %v", err)
	}
}

// Values written uncompressed that start like a compressed one (the tag
// engine stores a customId's holder, a workflow id such as "HK-1234", which
// starts like a zlib stream) read back unchanged, through every setting.
func TestRawValuesThatLookCompressedReadBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := memory.New()
	values := []string{"HK-1234", "x^", "8O-9", "\x1f\x8b\x08 not gzip", "BZh91AY&SY not bzip2"}
	for _, v := range values {
		if _, err := storage.Compressed(base, storage.CompressionNone).Put(ctx, v, []byte(v), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, reader := range []storage.Compression{storage.CompressionNone, storage.CompressionGzip, storage.CompressionDeflate, storage.CompressionBzip2} {
		for _, v := range values {
			got, _, err := storage.Compressed(base, reader).Get(ctx, v)
			if err != nil || string(got) != v {
				t.Errorf("%q written uncompressed, read with %q: %q, %v", v, reader, got, err)
			}
		}
	}
}

func TestCorruptCompressedValueIsAClearError(t *testing.T) {
	ctx := context.Background()
	base := memory.New()
	bad := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3}
	if _, err := base.Put(ctx, "bad", bad, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err := storage.Compressed(base, storage.CompressionNone).Get(ctx, "bad")
	if err == nil || !strings.Contains(err.Error(), "gzip value is corrupt") || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("err = %v, want a corrupt gzip error naming the key", err)
	}
	if _, err := storage.ParseCompression("zstd"); err == nil {
		t.Fatal("unknown compression accepted")
	}
}

// countingKV counts reads that reach the store.
type countingKV struct {
	storage.KeyValue
	gets atomic.Int64
}

func (c *countingKV) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	c.gets.Add(1)
	return c.KeyValue.Get(ctx, key)
}

func TestReadCacheServesUnversionedReadsOnly(t *testing.T) {
	ctx := context.Background()
	under := &countingKV{KeyValue: memory.New()}
	kv := storage.CachedKeyValue(under, storage.CacheConfig{MaximumSize: 2, ExpireAfterWrite: time.Hour, ExpireAfterAccess: time.Hour})
	if _, err := kv.Put(ctx, "a", []byte("1"), 0, 0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if v, err := storage.ReadValue(ctx, kv, "a"); err != nil || string(v) != "1" {
			t.Fatalf("ReadValue = %q, %v", v, err)
		}
	}
	if n := under.gets.Load(); n != 1 {
		t.Fatalf("store read %d times for 3 cached reads, want 1", n)
	}
	// Versioned reads always reach the store.
	if _, v, _ := kv.Get(ctx, "a"); v != 1 || under.gets.Load() != 2 {
		t.Fatalf("versioned Get was served from the cache")
	}
	// A write through the cache is seen at once.
	if _, err := kv.Put(ctx, "a", []byte("2"), 1, 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := storage.ReadValue(ctx, kv, "a"); string(v) != "2" {
		t.Fatalf("after a write: %q", v)
	}
	// The size bound evicts the least recently used entry.
	for _, k := range []string{"b", "c"} {
		if _, err := kv.Put(ctx, k, []byte(k), 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := storage.ReadValue(ctx, kv, k); err != nil {
			t.Fatal(err)
		}
	}
	before := under.gets.Load()
	if _, err := storage.ReadValue(ctx, kv, "a"); err != nil {
		t.Fatal(err)
	}
	if under.gets.Load() != before+1 {
		t.Fatalf("entry a should have been evicted by the size bound")
	}
	// No cache configured: the store is returned as is.
	if storage.CachedKeyValue(under, storage.CacheConfig{}) != storage.KeyValue(under) {
		t.Fatal("a zero cache config must not wrap the store")
	}
}

func TestCachedPagesInvalidatedByWrites(t *testing.T) {
	ctx := context.Background()
	ks := storage.CachedKeySet(memory.New(), storage.CacheConfig{MaximumSize: 10, ExpireAfterWrite: time.Hour})
	if err := ks.Add(ctx, "tag", []byte("w1")); err != nil {
		t.Fatal(err)
	}
	m, _, err := ks.Page(ctx, "tag", "", 10)
	if err != nil || len(m) != 1 {
		t.Fatalf("page = %q, %v", m, err)
	}
	if err := ks.Add(ctx, "tag", []byte("w2")); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := ks.Page(ctx, "tag", "", 10); len(m) != 2 {
		t.Fatalf("after Add the cached page is stale: %q", m)
	}
}

// txStore is a memory store posing as a transactional driver: PutTx writes
// then calls the hook with a marker handle.
type txStore struct {
	storage.KeyValue
	hooked int
}

func (s *txStore) PutTx(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook storage.TxHook) (uint64, error) {
	v, err := s.Put(ctx, key, value, expected, ttl)
	if err == nil && hook != nil {
		s.hooked++
		err = hook(ctx, "marker-tx")
	}
	return v, err
}

func (s *txStore) PutManyTx(ctx context.Context, writes []storage.Write, hook storage.TxHook) ([]uint64, error) {
	vs, err := s.PutMany(ctx, writes)
	if err == nil && hook != nil {
		s.hooked++
		err = hook(ctx, "marker-tx")
	}
	return vs, err
}

func (s *txStore) TxDomain() string { return "test://domain" }

func TestDecoratorsKeepTransactions(t *testing.T) {
	ctx := context.Background()
	if _, ok := storage.Compressed(memory.New(), storage.CompressionGzip).(storage.TxKeyValue); ok {
		t.Error("Compressed over a non-transactional store claims to be transactional")
	}
	inner := &txStore{KeyValue: memory.New()}
	kv := storage.CachedKeyValue(storage.Compressed(inner, storage.CompressionGzip), storage.CacheConfig{MaximumSize: 10})
	tkv, ok := kv.(storage.TxKeyValue)
	if !ok {
		t.Fatal("cache over compression over a transactional store lost PutTx")
	}
	if d := tkv.TxDomain(); d != "test://domain" {
		t.Errorf("TxDomain() = %q", d)
	}
	var got any
	if _, err := tkv.PutTx(ctx, "k", []byte("hello hello hello"), 0, 0, func(_ context.Context, tx any) error {
		got = tx
		return nil
	}); err != nil {
		t.Fatalf("PutTx: %v", err)
	}
	if got != "marker-tx" || inner.hooked != 1 {
		t.Errorf("hook got %v (called %d times), want the driver's handle once", got, inner.hooked)
	}
	raw, _, _ := inner.Get(ctx, "k")
	if storage.Detect(raw) != storage.CompressionGzip {
		t.Errorf("stored value %q is not gzip", raw)
	}
	if _, err := tkv.PutManyTx(ctx, []storage.Write{{Key: "m1", Value: []byte("one one one")}, {Key: "m2", Value: []byte("two")}}, func(_ context.Context, tx any) error {
		got = tx
		return nil
	}); err != nil || inner.hooked != 2 {
		t.Fatalf("PutManyTx: %v, hook called %d times", err, inner.hooked)
	}
	if raw, _, _ := inner.Get(ctx, "m1"); storage.Detect(raw) != storage.CompressionGzip {
		t.Errorf("stored value %q is not gzip", raw)
	}
	if v, _, err := kv.Get(ctx, "k"); err != nil || string(v) != "hello hello hello" {
		t.Errorf("Get = %q, %v", v, err)
	}
}

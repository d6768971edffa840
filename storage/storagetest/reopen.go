package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/weftio/weft/storage"
)

// Opener opens a store on one fixed data set (key prefix, schema or
// database): every store it opens sees the same data.
type Opener func(t *testing.T) (storage.KeyValue, storage.KeySet)

// RunReopen checks close and reuse: data written through one store is
// there, with its versions and set members, in a store opened afterwards on
// the same data set, and the closed store keeps refusing work. Durable
// drivers run it; the memory store loses its data on Close by design.
func RunReopen(t *testing.T, open Opener) {
	t.Helper()
	ctx := context.Background()
	kv, ks := open(t)
	v, err := kv.Put(ctx, "k", []byte("one"), 0, 0)
	if err == nil {
		v, err = kv.Put(ctx, "k", []byte("two"), v, 0)
	}
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := ks.Add(ctx, "s", []byte("m1")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := kv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := ks.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Close key-set: %v", err)
	}
	if _, _, err := kv.Get(ctx, "k"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}

	kv2, ks2 := open(t)
	defer kv2.Close()
	defer ks2.Close()
	got, ver, err := kv2.Get(ctx, "k")
	if err != nil || string(got) != "two" || ver != v {
		t.Fatalf("after reopening: %q v%d (%v), want \"two\" v%d", got, ver, err, v)
	}
	if _, err := kv2.Put(ctx, "k", []byte("three"), v, 0); err != nil {
		t.Fatalf("versioned write after reopening: %v", err)
	}
	m, _, err := ks2.Page(ctx, "s", "", 10)
	if err != nil || len(m) != 1 || string(m[0]) != "m1" {
		t.Fatalf("set after reopening: %q, %v", m, err)
	}
}

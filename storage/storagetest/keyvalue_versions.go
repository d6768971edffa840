package storagetest

import (
	"testing"

	"github.com/weftio/weft/storage"
)

func testGetAbsent(t *testing.T, s storage.KeyValue, p string) {
	wantAbsent(t, s, p+"never-written")
}

func testPutFirstVersion(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	if v := mustPut(t, s, k, []byte("one"), 0, 0); v != 1 {
		t.Fatalf("first Put version = %d, want 1", v)
	}
	wantValue(t, s, k, []byte("one"), 1)
}

func testPutWrongExpected(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	mustPut(t, s, k, []byte("v1"), 0, 0)
	for _, expected := range []uint64{2, 7, ^uint64(0)} {
		_, err := s.Put(t.Context(), k, []byte("bad"), expected, 0)
		wantErrIs(t, "Put with wrong expected version", err, storage.ErrVersionConflict)
	}
	wantValue(t, s, k, []byte("v1"), 1)

	// A conflict on an absent key must not create it either.
	absent := p + "absent"
	_, err := s.Put(t.Context(), absent, []byte("bad"), 1, 0)
	wantErrIs(t, "Put on absent key with expected 1", err, storage.ErrVersionConflict)
	wantAbsent(t, s, absent)
}

func testPutZeroOnExisting(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	mustPut(t, s, k, []byte("first"), 0, 0)
	_, err := s.Put(t.Context(), k, []byte("second"), 0, 0)
	wantErrIs(t, "Put with expected 0 on existing key", err, storage.ErrVersionConflict)
	wantValue(t, s, k, []byte("first"), 1)
}

func testPutVersionsIncrease(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	var ver uint64
	for i := range 20 {
		val := []byte{byte(i)}
		next := mustPut(t, s, k, val, ver, 0)
		if next != ver+1 {
			t.Fatalf("Put #%d version = %d, want %d", i+1, next, ver+1)
		}
		ver = next
		wantValue(t, s, k, val, ver)
	}
}

func testDeleteRightVersion(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	mustPut(t, s, k, []byte("a"), 0, 0)
	v := mustPut(t, s, k, []byte("b"), 1, 0)
	if err := s.Delete(t.Context(), k, v); err != nil {
		t.Fatalf("Delete with current version: %v", err)
	}
	wantAbsent(t, s, k)
}

func testDeleteWrongVersion(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	mustPut(t, s, k, []byte("a"), 0, 0)
	mustPut(t, s, k, []byte("b"), 1, 0)
	// 0 means "absent", so it must not delete an existing key.
	for _, expected := range []uint64{0, 1, 3} {
		err := s.Delete(t.Context(), k, expected)
		wantErrIs(t, "Delete with wrong version", err, storage.ErrVersionConflict)
	}
	wantValue(t, s, k, []byte("b"), 2)
}

func testDeleteAbsent(t *testing.T, s storage.KeyValue, p string) {
	k := p + "absent"
	if err := s.Delete(t.Context(), k, 0); err != nil {
		t.Fatalf("Delete absent key with expected 0: %v", err)
	}
	err := s.Delete(t.Context(), k, 1)
	wantErrIs(t, "Delete absent key with expected 1", err, storage.ErrVersionConflict)
	wantAbsent(t, s, k)
}

func testDeleteThenRecreate(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	v := mustPut(t, s, k, []byte("a"), 0, 0)
	if err := s.Delete(t.Context(), k, v); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// Deleting again is deleting an absent key.
	if err := s.Delete(t.Context(), k, 0); err != nil {
		t.Fatalf("second Delete with expected 0: %v", err)
	}
	// A deleted key is absent, so it starts over at version 1.
	if v := mustPut(t, s, k, []byte("again"), 0, 0); v != 1 {
		t.Fatalf("Put after Delete version = %d, want 1", v)
	}
	wantValue(t, s, k, []byte("again"), 1)
}

package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/weftio/weft/storage"
)

func testKVCancelled(t *testing.T, s storage.KeyValue, p string) {
	ctx := cancelledContext(t)
	k := p + "k"

	_, _, err := s.Get(ctx, k)
	wantErrIs(t, "Get with cancelled ctx", err, context.Canceled)

	_, err = s.Put(ctx, k, []byte("x"), 0, 0)
	wantErrIs(t, "Put with cancelled ctx", err, context.Canceled)
	// The context was dead before the call: nothing may have been written.
	wantAbsent(t, s, k)

	mustPut(t, s, k, []byte("kept"), 0, 0)
	err = s.Delete(ctx, k, 1)
	wantErrIs(t, "Delete with cancelled ctx", err, context.Canceled)
	wantValue(t, s, k, []byte("kept"), 1)
}

func testKVClose(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	mustPut(t, s, k, []byte("x"), 0, 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	_, _, err := s.Get(ctx, k)
	wantErrIs(t, "Get after Close", err, storage.ErrClosed)
	_, err = s.Put(ctx, k, []byte("y"), 1, 0)
	wantErrIs(t, "Put after Close", err, storage.ErrClosed)
	err = s.Delete(ctx, k, 1)
	wantErrIs(t, "Delete after Close", err, storage.ErrClosed)
	closeAgain(t, s.Close())
}

// closeAgain accepts nil or ErrClosed from a second Close: both are common
// Go conventions, and the contract only requires it to be harmless.
func closeAgain(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("second Close: %v, want nil or ErrClosed", err)
	}
}

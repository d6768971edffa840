package storagetest

import (
	"context"
	"testing"

	"github.com/weftio/weft/storage"
)

func testKSCancelled(t *testing.T, s storage.KeySet, p string) {
	ctx := cancelledContext(t)
	k := p + "set"

	err := s.Add(ctx, k, []byte("a"))
	wantErrIs(t, "Add with cancelled ctx", err, context.Canceled)
	mustAdd(t, s, k, []byte("kept"))
	err = s.Remove(ctx, k, []byte("kept"))
	wantErrIs(t, "Remove with cancelled ctx", err, context.Canceled)
	_, _, err = s.Page(ctx, k, "", 10)
	wantErrIs(t, "Page with cancelled ctx", err, context.Canceled)

	// The context was dead before each call: nothing may have changed.
	wantMembers(t, pageAll(t, s, k, 10, nil), []string{"kept"})
}

func testKSClose(t *testing.T, s storage.KeySet, p string) {
	k := p + "set"
	mustAdd(t, s, k, []byte("a"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	wantErrIs(t, "Add after Close", s.Add(ctx, k, []byte("b")), storage.ErrClosed)
	wantErrIs(t, "Remove after Close", s.Remove(ctx, k, []byte("a")), storage.ErrClosed)
	_, _, err := s.Page(ctx, k, "", 10)
	wantErrIs(t, "Page after Close", err, storage.ErrClosed)
	closeAgain(t, s.Close())
}

package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/weftio/weft/storage"
)

// shortTTL is long enough that a Get right after the Put normally sees the
// key, short enough to keep the suite quick.
const shortTTL = 300 * time.Millisecond

func testTTLExpires(t *testing.T, s storage.KeyValue, p string) {
	k := p + "ttl"
	start := time.Now()
	mustPut(t, s, k, []byte("soon gone"), 0, shortTTL)
	got, ver := mustGet(t, s, k)
	switch {
	case ver == 1:
		if string(got) != "soon gone" {
			t.Fatalf("Get before expiry value = %s", short(got))
		}
	case time.Since(start) < shortTTL:
		t.Fatalf("key with ttl %v absent right after Put (version %d)", shortTTL, ver)
	default:
		// The machine was too slow to observe the key before it expired;
		// that says nothing about the driver.
		t.Logf("presence check skipped: Put+Get took %v", time.Since(start))
	}
	eventually(t, "key with ttl expires", func() bool {
		_, ver := mustGet(t, s, k)
		return ver == 0
	})
	wantAbsent(t, s, k)
}

func testTTLCleared(t *testing.T, s storage.KeyValue, p string) {
	// Longer than shortTTL because the clearing Put must land before expiry.
	const ttl = time.Second
	zero, negative, control := p+"zero", p+"negative", p+"control"

	start := time.Now()
	mustPut(t, s, zero, []byte("a"), 0, ttl)
	mustPut(t, s, negative, []byte("a"), 0, ttl)
	for _, c := range []struct {
		key string
		ttl time.Duration
	}{{zero, 0}, {negative, -time.Second}} {
		_, err := s.Put(t.Context(), c.key, []byte("kept"), 1, c.ttl)
		if errors.Is(err, storage.ErrVersionConflict) && time.Since(start) >= ttl {
			t.Skipf("machine too slow: key expired before it could be rewritten (%v)", time.Since(start))
		}
		if err != nil {
			t.Fatalf("Put(%q, ttl %v): %v", c.key, c.ttl, err)
		}
	}
	// The control key is written last with the same ttl, so once it is gone
	// the original expiry of the other two has certainly passed.
	mustPut(t, s, control, []byte("c"), 0, ttl)
	eventually(t, "control key expires", func() bool {
		_, ver := mustGet(t, s, control)
		return ver == 0
	})
	wantValue(t, s, zero, []byte("kept"), 2)
	wantValue(t, s, negative, []byte("kept"), 2)
}

func testTTLExpiredIsAbsent(t *testing.T, s storage.KeyValue, p string) {
	k := p + "ttl"
	old := mustPut(t, s, k, []byte("old"), 0, shortTTL)
	eventually(t, "key with ttl expires", func() bool {
		_, ver := mustGet(t, s, k)
		return ver == 0
	})
	// Expected 0 means "absent", which an expired key is.
	if err := s.Delete(t.Context(), k, 0); err != nil {
		t.Fatalf("Delete expired key with expected 0: %v", err)
	}
	err := s.Delete(t.Context(), k, old)
	wantErrIs(t, "Delete expired key with its old version", err, storage.ErrVersionConflict)
	_, err = s.Put(t.Context(), k, []byte("stale"), old, 0)
	wantErrIs(t, "Put on expired key with its old version", err, storage.ErrVersionConflict)

	if v := mustPut(t, s, k, []byte("new"), 0, 0); v != 1 {
		t.Fatalf("Put on expired key version = %d, want 1 (absent keys start over)", v)
	}
	wantValue(t, s, k, []byte("new"), 1)
}

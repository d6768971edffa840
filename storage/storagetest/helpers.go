package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/storage"
)

// pollDeadline bounds every wait for an asynchronous effect (TTL expiry).
// It is generous on purpose: the suite checks behaviour, not speed.
const pollDeadline = 5 * time.Second

// pollInterval is short enough to notice expiry soon, long enough not to
// hammer a networked backend.
const pollInterval = 20 * time.Millisecond

// newPrefix returns a key prefix unique to this subtest and this run, so
// subtests can share one backend and survive leftovers of crashed runs.
func newPrefix(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random prefix: %v", err)
	}
	name := t.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	// The name only helps someone reading a shared backend; keep it short so
	// the 255-byte key test has room.
	if len(name) > 24 {
		name = name[:24]
	}
	return "weft-st:" + hex.EncodeToString(b[:]) + ":" + name + ":"
}

// mustGet reads key and fails the test on error.
func mustGet(t *testing.T, s storage.KeyValue, key string) ([]byte, uint64) {
	t.Helper()
	v, ver, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ver
}

// mustPut writes key and fails the test on error.
func mustPut(t *testing.T, s storage.KeyValue, key string, value []byte, expected uint64, ttl time.Duration) uint64 {
	t.Helper()
	ver, err := s.Put(t.Context(), key, value, expected, ttl)
	if err != nil {
		t.Fatalf("Put(%q, expected %d): %v", key, expected, err)
	}
	return ver
}

// wantValue checks that key holds exactly value at version.
func wantValue(t *testing.T, s storage.KeyValue, key string, value []byte, version uint64) {
	t.Helper()
	got, ver := mustGet(t, s, key)
	if ver != version {
		t.Fatalf("Get(%q) version = %d, want %d", key, ver, version)
	}
	if !bytes.Equal(got, value) {
		t.Fatalf("Get(%q) value = %s, want %s", key, short(got), short(value))
	}
}

// wantAbsent checks the absent triple (nil, 0, nil).
func wantAbsent(t *testing.T, s storage.KeyValue, key string) {
	t.Helper()
	got, ver := mustGet(t, s, key)
	if ver != 0 || got != nil {
		t.Fatalf("Get(%q) = (%s, %d), want (nil, 0)", key, short(got), ver)
	}
}

// wantErrIs fails unless errors.Is(err, target).
func wantErrIs(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want errors.Is(err, %v)", op, err, target)
	}
}

// eventually polls cond until it holds or pollDeadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v", what, pollDeadline)
		}
		time.Sleep(pollInterval)
	}
}

// cancelledContext returns a context that is already cancelled.
func cancelledContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// short renders a value for failure messages without dumping megabytes.
func short(b []byte) string {
	if b == nil {
		return "nil"
	}
	const max = 64
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:max])) + "...(" + strconv.Itoa(len(b)) + " bytes)"
}

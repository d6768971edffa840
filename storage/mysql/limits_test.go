package mysql

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/weftio/weft/storage"
)

// TestTooLarge checks the max_allowed_packet guard on both sides: the
// largest value allowed round-trips (so the margin left for the rest of the
// statement is enough), and one byte more is refused without breaking the
// connection.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	s := newStore(t, freshConfig(t))
	ctx := t.Context()
	t.Logf("max value %d bytes", s.maxValue)

	largest := make([]byte, s.maxValue)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range largest {
		largest[i] = byte(rng.Uint32())
	}
	if _, err := s.Put(ctx, "largest", largest, 0, 0); err != nil {
		t.Fatalf("Put of the largest allowed value: %v", err)
	}
	if v, _, err := s.Get(ctx, "largest"); err != nil || !bytes.Equal(v, largest) {
		t.Fatalf("Get of the largest allowed value: %d bytes, %v", len(v), err)
	}
	if err := s.Add(ctx, "set", largest); err != nil {
		t.Fatalf("Add of the largest allowed member: %v", err)
	}
	if ms, _, err := s.Page(ctx, "set", "", 1); err != nil || len(ms) != 1 || !bytes.Equal(ms[0], largest) {
		t.Fatalf("Page of the largest allowed member: %v", err)
	}

	tooBig := append(largest, 0)
	_, err := s.Put(ctx, "too-big", tooBig, 0, 0)
	wantTooLarge(t, "Put", err)
	_, err = s.PutMany(ctx, []storage.Write{{Key: "small", Value: []byte("x")}, {Key: "too-big", Value: tooBig}})
	wantTooLarge(t, "PutMany", err)
	wantTooLarge(t, "Add", s.Add(ctx, "set", tooBig))

	// Nothing of the refused batch was written, and the store still works.
	if _, ver, err := s.Get(ctx, "small"); err != nil || ver != 0 {
		t.Fatalf("Get(small) after refused batch = (%d, %v), want absent", ver, err)
	}
	if _, err := s.Put(ctx, "small", []byte("x"), 0, 0); err != nil {
		t.Fatalf("Put after refusals: %v", err)
	}
}

func wantTooLarge(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "max_allowed_packet") {
		t.Fatalf("%s of a too-large value: %v, want ErrTooLarge naming max_allowed_packet", op, err)
	}
}

func TestKeyLength(t *testing.T) {
	t.Parallel()
	s := newStore(t, freshConfig(t))
	ctx := t.Context()
	// 1024 three-byte runes: the longest key, far beyond 255 characters.
	longest := strings.Repeat("€", maxKeyLen/3)
	if _, err := s.Put(ctx, longest, []byte("v"), 0, 0); err != nil {
		t.Fatalf("Put with a %d-byte key: %v", len(longest), err)
	}
	// Differs from longest only in its last byte.
	near := longest[:len(longest)-1] + "\xad"
	if _, ver, _ := s.Get(ctx, near); ver != 0 {
		t.Fatalf("Get of a key differing in the last byte found version %d", ver)
	}
	if v, ver, err := s.Get(ctx, longest); err != nil || string(v) != "v" || ver != 1 {
		t.Fatalf("Get(longest) = (%q, %d, %v)", v, ver, err)
	}
	if err := s.Add(ctx, longest, []byte("m")); err != nil {
		t.Fatalf("Add with the longest key: %v", err)
	}

	tooLong := longest + "x"
	if _, err := s.Put(ctx, tooLong, []byte("v"), 0, 0); err == nil || errors.Is(err, storage.ErrVersionConflict) {
		t.Fatalf("Put with a %d-byte key: %v, want a key length error", len(tooLong), err)
	}
	if err := s.Add(ctx, tooLong, []byte("m")); err == nil {
		t.Fatalf("Add with a %d-byte key succeeded", len(tooLong))
	}
	if _, ver, err := s.Get(ctx, tooLong); err != nil || ver != 0 {
		t.Fatalf("Get with a too-long key = (%d, %v), want absent", ver, err)
	}
}

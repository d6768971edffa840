package storagetest

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/weftio/weft/storage"
)

func testCopyPutInput(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	in := []byte("original")
	mustPut(t, s, k, in, 0, 0)
	// A store that kept the caller's slice would now see "XXXXXXXX".
	for i := range in {
		in[i] = 'X'
	}
	wantValue(t, s, k, []byte("original"), 1)
}

func testCopyGetOutput(t *testing.T, s storage.KeyValue, p string) {
	k := p + "k"
	mustPut(t, s, k, []byte("original"), 0, 0)
	out, _ := mustGet(t, s, k)
	for i := range out {
		out[i] = 'X'
	}
	// Appending must not reach into storage either.
	_ = append(out[:2], "ZZZZ"...)
	wantValue(t, s, k, []byte("original"), 1)
}

// testLargeValue checks values far above typical frame and page sizes,
// written, read back, and overwritten.
func testLargeValue(size int) func(t *testing.T, s storage.KeyValue, p string) {
	return func(t *testing.T, s storage.KeyValue, p string) {
		k := p + "big"
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		big := make([]byte, size)
		for i := range big {
			big[i] = byte(rng.Uint32())
		}
		mustPut(t, s, k, big, 0, 0)
		wantValue(t, s, k, big, 1)

		// Overwrite with a different value of the same size: a driver that
		// patches in place or caches must still return the new bytes.
		for i := range big {
			big[i] ^= 0xA5
		}
		mustPut(t, s, k, big, 1, 0)
		wantValue(t, s, k, big, 2)
	}
}

func testBinaryValue(t *testing.T, s storage.KeyValue, p string) {
	k := p + "bin"
	all := make([]byte, 0, 512)
	for i := range 256 {
		all = append(all, byte(i))
	}
	// Descending too, so a NUL is followed by high bytes and vice versa.
	for i := 255; i >= 0; i-- {
		all = append(all, byte(i))
	}
	mustPut(t, s, k, all, 0, 0)
	wantValue(t, s, k, all, 1)

	nuls := p + "nuls"
	mustPut(t, s, nuls, []byte{0, 0, 0}, 0, 0)
	wantValue(t, s, nuls, []byte{0, 0, 0}, 1)
}

func testEmptyValue(t *testing.T, s storage.KeyValue, p string) {
	k := p + "empty"
	mustPut(t, s, k, []byte{}, 0, 0)
	// Presence is the version, not the slice: empty is a value, not absence.
	got, ver := mustGet(t, s, k)
	if ver != 1 || len(got) != 0 {
		t.Fatalf("Get(empty) = (%s, %d), want (empty, 1)", short(got), ver)
	}
	// And it can be replaced and deleted like any other value.
	mustPut(t, s, k, []byte("x"), 1, 0)
	mustPut(t, s, k, []byte{}, 2, 0)
	got, ver = mustGet(t, s, k)
	if ver != 3 || len(got) != 0 {
		t.Fatalf("Get(empty again) = (%s, %d), want (empty, 3)", short(got), ver)
	}
	if err := s.Delete(t.Context(), k, 3); err != nil {
		t.Fatalf("Delete empty value: %v", err)
	}
	wantAbsent(t, s, k)
}

// testUnusualKeys uses keys that break naive drivers: glob characters (Redis
// SCAN/KEYS patterns), LIKE wildcards (SQL), separators, whitespace, non-ASCII
// and the longest key the suite promises drivers to handle.
func testUnusualKeys(t *testing.T, s storage.KeyValue, p string) {
	suffixes := []string{
		"ключ-ü-日本語-🙂",
		"with space",
		" leading and trailing ",
		"a:b:c",
		"::",
		"100%",
		"%",
		"_",
		"*",
		"a*",
		"a?",
		"[ab]",
		"line\nbreak",
		"\r\n",
		"tab\there",
		`back\slash`,
		`quote'and"double`,
		"slash/and/more",
	}
	keys := make([]string, 0, len(suffixes)+1)
	for _, sfx := range suffixes {
		keys = append(keys, p+sfx)
	}
	long := p + strings.Repeat("L", 255-len(p))
	if len(long) != 255 {
		t.Fatalf("suite bug: long key has %d bytes", len(long))
	}
	keys = append(keys, long)

	for i, k := range keys {
		mustPut(t, s, k, []byte{byte(i), 'v'}, 0, 0)
	}
	for i, k := range keys {
		wantValue(t, s, k, []byte{byte(i), 'v'}, 1)
	}
	// Keys a pattern-matching driver would confuse with the ones above.
	for _, sfx := range []string{"abc", "ab", "a", "b", "1000", "x", "100", "line"} {
		wantAbsent(t, s, p+sfx)
	}
	// Deleting the wildcard keys must delete only themselves.
	for _, sfx := range []string{"*", "%", "_", "a*"} {
		if err := s.Delete(t.Context(), p+sfx, 1); err != nil {
			t.Fatalf("Delete(%q): %v", p+sfx, err)
		}
	}
	for i, k := range keys {
		switch strings.TrimPrefix(k, p) {
		case "*", "%", "_", "a*":
			wantAbsent(t, s, k)
		default:
			wantValue(t, s, k, []byte{byte(i), 'v'}, 1)
		}
	}
}

package storagetest

import (
	"testing"

	"github.com/weftio/weft/storage"
)

func testPageAbsent(t *testing.T, s storage.KeySet, p string) {
	ms, next := mustPage(t, s, p+"never-written", "", 10)
	if len(ms) != 0 || next != "" {
		t.Fatalf("Page(absent) = (%d members, %q), want (0, \"\")", len(ms), next)
	}
}

func testAddRemoveIdempotent(t *testing.T, s storage.KeySet, p string) {
	k := p + "set"
	a, b := []byte("a"), []byte("b")
	mustAdd(t, s, k, a, a, b, a)
	wantMembers(t, pageAll(t, s, k, 10, nil), []string{"a", "b"})

	mustRemove(t, s, k, a, a)
	mustRemove(t, s, k, []byte("never-added"))
	wantMembers(t, pageAll(t, s, k, 10, nil), []string{"b"})

	// Emptying a set makes it indistinguishable from an absent one.
	mustRemove(t, s, k, b)
	ms, next := mustPage(t, s, k, "", 10)
	if len(ms) != 0 || next != "" {
		t.Fatalf("Page(emptied set) = (%d members, %q), want (0, \"\")", len(ms), next)
	}
	mustRemove(t, s, p+"absent-set", a)

	// A removed member can come back.
	mustAdd(t, s, k, a)
	wantMembers(t, pageAll(t, s, k, 10, nil), []string{"a"})
}

// testSetKeysIndependent uses set keys that a pattern-matching driver might
// confuse with each other.
func testSetKeysIndependent(t *testing.T, s storage.KeySet, p string) {
	keys := []string{p + "a", p + "a*", p + "a%", p + "a_", p + "a b", p + "ä:🙂"}
	for i, k := range keys {
		mustAdd(t, s, k, []byte(k), []byte{byte(i)})
	}
	for i, k := range keys {
		wantMembers(t, pageAll(t, s, k, 100, nil), []string{k, string([]byte{byte(i)})})
	}
}

func testMembersBinary(t *testing.T, s storage.KeySet, p string) {
	k := p + "set"
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	members := [][]byte{
		{},
		{0},
		{0, 0},
		{0xff},
		{0xc3, 0x28}, // invalid UTF-8
		all,
		[]byte("with space"),
		[]byte("line\nbreak"),
		[]byte("*"),
		[]byte("%"),
		[]byte("ünï🙂"),
	}
	for i := range 256 {
		members = append(members, []byte{'b', byte(i)})
	}
	mustAdd(t, s, k, members...)
	wantMembers(t, pageAll(t, s, k, 7, nil), asStrings(members))

	// Members differing only in a NUL or in the empty member are distinct.
	mustRemove(t, s, k, []byte{}, []byte{0})
	wantMembers(t, pageAll(t, s, k, 50, nil), asStrings(members[2:]))
}

func testMembersCopies(t *testing.T, s storage.KeySet, p string) {
	k := p + "set"
	in := []byte("original")
	mustAdd(t, s, k, in)
	for i := range in {
		in[i] = 'X'
	}
	ms, _ := mustPage(t, s, k, "", 10)
	if len(ms) != 1 || string(ms[0]) != "original" {
		t.Fatalf("Page after mutating Add input = %q, want [original]", ms)
	}
	for i := range ms[0] {
		ms[0][i] = 'Y'
	}
	wantMembers(t, pageAll(t, s, k, 10, nil), []string{"original"})
}

package storagetest

import (
	"testing"

	"github.com/weftio/weft/storage"
)

// ksCase is one KeySet conformance check. prefix is unique to the subtest;
// every set key the check touches starts with it.
type ksCase struct {
	name string
	run  func(t *testing.T, s storage.KeySet, prefix string)
}

// ksCases lists the checks in the order they are reported.
var ksCases = []ksCase{
	{"Page/AbsentKey", testPageAbsent},
	{"AddRemove/Idempotent", testAddRemoveIdempotent},
	{"AddRemove/KeysAreIndependent", testSetKeysIndependent},
	{"Page/2500MembersLimit100", testPageLarge},
	{"Page/LimitOne", testPageLimitOne},
	{"Page/InvalidLimit", testPageInvalidLimit},
	{"Page/RemoveDuringPaging", testPageRemoveDuringPaging},
	{"Members/Binary", testMembersBinary},
	{"Members/Copies", testMembersCopies},
	{"Concurrent/Add", testConcurrentAdd},
	{"Context/Cancelled", testKSCancelled},
	{"Close/ErrClosed", testKSClose},
}

// RunKeySet runs the KeySet conformance suite. newStore is called once per
// subtest; see the package documentation for its contract.
func RunKeySet(t *testing.T, newStore func(t *testing.T) storage.KeySet) {
	t.Helper()
	for _, c := range ksCases {
		t.Run(c.name, func(t *testing.T) {
			// Safe because every subtest has its own store and key prefix.
			t.Parallel()
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			c.run(t, s, newPrefix(t))
		})
	}
}

package storagetest

import (
	"testing"

	"github.com/weftio/weft/storage"
)

// kvCase is one KeyValue conformance check. prefix is unique to the subtest;
// every key the check touches starts with it.
type kvCase struct {
	name string
	run  func(t *testing.T, s storage.KeyValue, prefix string)
}

// kvCases lists the checks in the order they are reported.
var kvCases = []kvCase{
	{"Get/Absent", testGetAbsent},
	{"Put/FirstVersionIsOne", testPutFirstVersion},
	{"Put/WrongExpectedConflicts", testPutWrongExpected},
	{"Put/ExpectedZeroOnExistingConflicts", testPutZeroOnExisting},
	{"Put/VersionsIncreaseByOne", testPutVersionsIncrease},
	{"Delete/RightVersion", testDeleteRightVersion},
	{"Delete/WrongVersionConflicts", testDeleteWrongVersion},
	{"Delete/Absent", testDeleteAbsent},
	{"Delete/ThenRecreate", testDeleteThenRecreate},
	{"Copies/PutInput", testCopyPutInput},
	{"Copies/GetOutput", testCopyGetOutput},
	{"Concurrent/CounterNoLostUpdate", testConcurrentCounter},
	{"Values/Large1MiB", testLargeValue(1 << 20)},
	{"Values/Large3MiB", testLargeValue(3 << 20)},
	{"Values/AllByteValues", testBinaryValue},
	{"Values/Empty", testEmptyValue},
	{"Keys/Unusual", testUnusualKeys},
	{"TTL/Expires", testTTLExpires},
	{"TTL/ClearedByPutWithoutTTL", testTTLCleared},
	{"TTL/ExpiredBehavesAsAbsent", testTTLExpiredIsAbsent},
	{"Batch/GetMany", testGetMany},
	{"Batch/PutManyAllOrNothing", testPutManyAllOrNothing},
	{"Batch/PutManyTTL", testPutManyTTL},
	{"Batch/ConcurrentTransfers", testPutManyConcurrentTransfers},
	{"Context/Cancelled", testKVCancelled},
	{"Close/ErrClosed", testKVClose},
}

// RunKeyValue runs the KeyValue conformance suite. newStore is called once
// per subtest; see the package documentation for its contract.
func RunKeyValue(t *testing.T, newStore func(t *testing.T) storage.KeyValue) {
	t.Helper()
	for _, c := range kvCases {
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

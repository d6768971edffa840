package mysql

import (
	"testing"

	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/storagetest"
)

// Every conformance subtest gets a Store on a database of its own, so the
// Close subtests and schema creation are exercised in isolation.

func TestKeyValue(t *testing.T) {
	serverConfig(t) // skip early, not once per subtest
	storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue {
		return newStore(t, freshConfig(t))
	})
}

func TestKeySet(t *testing.T) {
	serverConfig(t)
	storagetest.RunKeySet(t, func(t *testing.T) storage.KeySet {
		return newStore(t, freshConfig(t))
	})
}

func TestCloseAndReuse(t *testing.T) {
	cfg := freshConfig(t)
	storagetest.RunReopen(t, func(t *testing.T) (storage.KeyValue, storage.KeySet) {
		s, err := New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s, s
	})
}

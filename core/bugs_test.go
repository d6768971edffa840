package core

import (
	"os"
	"testing"
)

// knownBug skips a test that demonstrates a reported bug in core, so the
// suite stays green until it is fixed. Set WEFT_TEST_KNOWN_BUGS=1 to run
// such tests and see them fail.
func knownBug(t testing.TB, description string) {
	t.Helper()
	if os.Getenv("WEFT_TEST_KNOWN_BUGS") == "" {
		t.Skip("BUG: " + description)
	}
}

package mysql

import (
	"crypto/sha256"
	"fmt"
)

// maxKeyLen is the longest key (key-value or set key) in bytes: the width of
// the k columns. The seam promises callers 255 bytes; this leaves room for
// long unicode keys without making every row wide.
const maxKeyLen = 3072

// hashOf is the fixed-width index entry for a key or member. SHA-256 so that
// a collision is not a practical concern; reads still compare the full key.
func hashOf[T ~string | ~[]byte](b T) []byte {
	h := sha256.Sum256([]byte(b))
	return h[:]
}

// checkKey refuses keys the k column cannot hold, before the server would
// (or, without strict mode, would silently truncate them).
func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return fmt.Errorf("mysql: key of %d bytes is longer than the %d this driver stores", len(key), maxKeyLen)
	}
	return nil
}

// tooLarge is the error for a value or member (named by what) of n bytes
// that the server would not accept in one packet (n > s.maxValue).
func (s *Store) tooLarge(what string, n int) error {
	return fmt.Errorf("%w: %s is %d bytes, at most %d fit (raise max_allowed_packet on the server)",
		ErrTooLarge, what, n, s.maxValue)
}

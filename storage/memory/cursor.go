package memory

import (
	"fmt"
	"strconv"
	"strings"
)

// cursorPrefix marks cursors as ours and versions their format, so a cursor
// from another driver, or garbage, is rejected rather than misread.
const cursorPrefix = "m1."

// encodeCursor renders the seq of the last member returned.
func encodeCursor(seq uint64) string {
	return cursorPrefix + strconv.FormatUint(seq, 36)
}

// decodeCursor parses a cursor; "" means the start and decodes to 0, which
// is below every seq.
func decodeCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(cursor, cursorPrefix)
	if ok {
		if seq, err := strconv.ParseUint(rest, 36, 64); err == nil && seq > 0 {
			return seq, nil
		}
	}
	return 0, fmt.Errorf("memory: invalid page cursor %q", cursor)
}

package mysql

import (
	"fmt"
	"strconv"
	"strings"
)

// cursorPrefix marks cursors as this driver's and versions their format, so
// a cursor from another driver, or garbage, is rejected rather than misread.
const cursorPrefix = "my1."

// encodeCursor renders the id of the last member returned.
func encodeCursor(id uint64) string {
	return cursorPrefix + strconv.FormatUint(id, 36)
}

// decodeCursor parses a cursor; "" means the start and decodes to 0, below
// every id (AUTO_INCREMENT starts at 1).
func decodeCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(cursor, cursorPrefix)
	if ok {
		if id, err := strconv.ParseUint(rest, 36, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, fmt.Errorf("mysql: invalid page cursor %q", cursor)
}

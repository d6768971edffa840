package postgres

import (
	"fmt"
	"strconv"
	"strings"
)

// cursorPrefix marks cursors as this driver's and versions their format, so
// a cursor from another driver, or garbage, is rejected rather than misread.
const cursorPrefix = "pg1."

// encodeCursor renders the id of the last member returned.
func encodeCursor(id int64) string {
	return cursorPrefix + strconv.FormatInt(id, 36)
}

// decodeCursor parses a cursor; "" means the start and decodes to 0, which
// is below every BIGSERIAL id.
func decodeCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	if rest, ok := strings.CutPrefix(cursor, cursorPrefix); ok {
		if id, err := strconv.ParseInt(rest, 36, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, fmt.Errorf("postgres: invalid page cursor %q", cursor)
}

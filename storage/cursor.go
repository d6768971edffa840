package storage

import (
	"fmt"
	"strconv"
	"strings"
)

// IDCursor encodes page cursors of drivers that page by a growing positive
// number (a row id or an insertion sequence). The prefix marks a cursor as
// one driver's and versions its format, so a cursor from another driver,
// or garbage, is rejected rather than misread.
type IDCursor struct {
	Driver string // names the driver in errors
	Prefix string // e.g. "pg1."
}

// Encode renders the number of the last member returned.
func (c IDCursor) Encode(n uint64) string { return c.Prefix + strconv.FormatUint(n, 36) }

// Decode parses a cursor; "" means the start and decodes to 0, below every
// number a driver hands out.
func (c IDCursor) Decode(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	if rest, ok := strings.CutPrefix(cursor, c.Prefix); ok {
		if n, err := strconv.ParseUint(rest, 36, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: invalid page cursor %q", c.Driver, cursor)
}

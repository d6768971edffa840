package redis

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// cursorPrefix marks cursors as ours and versions their format, so a cursor
// from another driver, or garbage, is rejected rather than misread.
const cursorPrefix = "r1."

// encodeCursor renders the last member returned. base64url keeps binary
// members (NUL, invalid UTF-8) safe in a string that may travel in URLs.
func encodeCursor(last string) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(last))
}

// decodeCursor returns the ZRANGEBYLEX lower bound for a cursor: "-" (the
// start) for "", else "(" (exclusive) followed by the last member returned.
func decodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "-", nil
	}
	rest, ok := strings.CutPrefix(cursor, cursorPrefix)
	if ok {
		if last, err := base64.RawURLEncoding.DecodeString(rest); err == nil {
			return "(" + string(last), nil
		}
	}
	return "", fmt.Errorf("redis: invalid page cursor %q", cursor)
}

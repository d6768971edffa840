package postgres

import (
	"fmt"
	"math"

	"github.com/weftio/weft/storage"
)

// cursor pages by BIGSERIAL id (which starts at 1).
var cursor = storage.IDCursor{Driver: "postgres", Prefix: "pg1."}

func encodeCursor(id int64) string { return cursor.Encode(uint64(id)) }

func decodeCursor(c string) (int64, error) {
	id, err := cursor.Decode(c)
	if err == nil && id > math.MaxInt64 {
		return 0, fmt.Errorf("postgres: invalid page cursor %q", c) // beyond BIGINT
	}
	return int64(id), err
}

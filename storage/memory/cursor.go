package memory

import "github.com/weftio/weft/storage"

// cursor pages by member insertion sequence.
var cursor = storage.IDCursor{Driver: "memory", Prefix: "m1."}

func encodeCursor(seq uint64) string { return cursor.Encode(seq) }

func decodeCursor(c string) (uint64, error) { return cursor.Decode(c) }

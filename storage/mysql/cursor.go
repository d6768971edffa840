package mysql

import "github.com/weftio/weft/storage"

// cursor pages by AUTO_INCREMENT id (which starts at 1).
var cursor = storage.IDCursor{Driver: "mysql", Prefix: "my1."}

func encodeCursor(id uint64) string { return cursor.Encode(id) }

func decodeCursor(c string) (uint64, error) { return cursor.Decode(c) }

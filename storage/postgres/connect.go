package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weftio/weft/internal/pgsetup"
)

// driver connects the way every PostgreSQL driver of weft does (see
// pgsetup), refusing databases that cannot store arbitrary keys.
var driver = pgsetup.Driver{Name: "postgres", AppName: "weft", Check: checkEncoding}

// checkEncoding refuses databases that cannot store arbitrary Unicode keys:
// with LATIN1 or similar, a key with an emoji would fail at its first write.
func checkEncoding(pc *pgconn.PgConn) error {
	switch enc := pc.ParameterStatus("server_encoding"); enc {
	case "UTF8", "SQL_ASCII", "":
		return nil
	default:
		return fmt.Errorf("database encoding is %s; weft stores Unicode keys and needs UTF8", enc)
	}
}

package mysql

import (
	"database/sql"
	"log/slog"
	"testing"
)

// admin opens a pool on the server without a default database, for setup
// and inspection behind the store's back. It is closed when the test ends.
func admin(t testing.TB, c Config) *sql.DB {
	t.Helper()
	r, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	mc, err := driverConfig(r, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mc.DBName = ""
	db, err := openDB(mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// count returns the number of rows of table in c's database.
func count(t testing.TB, c Config, table string) int {
	t.Helper()
	var n int
	err := admin(t, c).QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+quote(c.Database)+"."+quote(table)).Scan(&n)
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

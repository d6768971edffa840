package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresAdmin runs fn on a plain connection of its own to the PostgreSQL
// test server (URL(t, PostgresURL)), for the checks and setup a driver does
// not offer. Failures are reported with t.Errorf.
func PostgresAdmin(t testing.TB, fn func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, URL(t, PostgresURL))
	if err != nil {
		t.Errorf("admin connection: %v", err)
		return
	}
	defer c.Close(ctx)
	if err := fn(ctx, c); err != nil {
		t.Errorf("admin: %v", err)
	}
}

// PostgresSchema returns a new schema name, prefix followed by nbytes random
// bytes in hex, and drops that schema (CASCADE) when the test ends: after
// whatever the test opens later is closed, since cleanups run
// last-registered first. Parallel tests and leftovers of crashed runs so
// never meet.
func PostgresSchema(t testing.TB, prefix string, nbytes int) string {
	t.Helper()
	b := make([]byte, nbytes)
	rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		PostgresAdmin(t, func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
			return err
		})
	})
	return schema
}

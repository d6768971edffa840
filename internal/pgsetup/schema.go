package pgsetup

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Querier is what reading a schema version needs: a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Migration is how a driver creates its tables: a schema, a one-row table
// recording the layout version, and the tables of that layout.
type Migration struct {
	// Driver starts every error ("postgres", "pgqueue").
	Driver string
	// Schema holds the tables (unquoted).
	Schema string
	// VersionTable is the version table's quoted, qualified name, and
	// VersionWhere how an error recording the version names the place
	// (`of "schema"`, `in "schema"."table"`).
	VersionTable, VersionWhere string
	// Version is the layout this build writes.
	Version int
	// LockKey is the advisory-lock key the creators of these tables share.
	LockKey int64
	// ReadVersion reads the recorded version (found false: none yet);
	// CheckVersion refuses one this build cannot work with.
	ReadVersion  func(ctx context.Context, q Querier) (version int, found bool, err error)
	CheckVersion func(version int, found bool) error
	// DDL creates the tables of Version (each IF NOT EXISTS).
	DDL string
}

// Run creates whatever is missing, in one transaction under a
// transaction-scoped advisory lock: concurrent callers from several
// processes queue here, and the ones that come second find everything done.
// The lock is needed even with IF NOT EXISTS, which is not safe against a
// concurrent creator (it fails with a unique violation in the catalog).
func (m Migration) Run(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, m.LockKey); err != nil {
			return fmt.Errorf("%s: lock schema %q for migration: %w", m.Driver, m.Schema, err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+QuoteIdent(m.Schema)+`;
CREATE TABLE IF NOT EXISTS `+m.VersionTable+` (
	singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
	version    INTEGER NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`); err != nil {
			return fmt.Errorf("%s: create schema %q: %w", m.Driver, m.Schema, err)
		}
		v, found, err := m.ReadVersion(ctx, tx)
		if err != nil {
			return err
		}
		if err := m.CheckVersion(v, found); err != nil {
			return err
		}
		// Version 1 is the first layout of every driver, so there is nothing
		// to upgrade from yet; a later layout adds its upgrade steps here
		// (through a field of Migration), keyed on v.
		if _, err := tx.Exec(ctx, m.DDL); err != nil {
			return fmt.Errorf("%s: create tables in schema %q: %w", m.Driver, m.Schema, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+m.VersionTable+` (singleton, version) VALUES (TRUE, $1) ON CONFLICT (singleton) DO NOTHING`, m.Version); err != nil {
			return fmt.Errorf("%s: record schema version %s: %w", m.Driver, m.VersionWhere, err)
		}
		return nil
	})
}

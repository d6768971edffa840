package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion is the table layout this build reads and writes. It goes up
// only with a layout change, which then needs a migration step in migrate.
const SchemaVersion = 1

// ErrSchemaTooNew is returned (wrapped) by New when the schema was migrated
// by a newer weft: writing to a layout this build does not know could
// corrupt it.
var ErrSchemaTooNew = errors.New("postgres: schema version is newer than this build supports")

// ensureSchema makes the schema usable. The common case, everything already
// in place, costs one query and no DDL (and so no CREATE privilege). Only
// otherwise does it take the per-schema advisory lock and create what is
// missing.
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, c Config) error {
	ok, err := schemaReady(ctx, pool, c)
	if err != nil || ok {
		return err
	}
	return migrate(ctx, pool, c)
}

// schemaReady reports whether the version row says SchemaVersion and both
// storage tables exist. to_regclass returns NULL for a missing schema or
// table instead of failing, so this works on an empty database.
func schemaReady(ctx context.Context, pool *pgxpool.Pool, c Config) (bool, error) {
	var vt, kv, ks *string
	err := pool.QueryRow(ctx, `SELECT to_regclass($1)::text, to_regclass($2)::text, to_regclass($3)::text`,
		qualified(c.Schema, versionTable), qualified(c.Schema, c.KeyValueTable), qualified(c.Schema, c.KeySetTable),
	).Scan(&vt, &kv, &ks)
	if err != nil {
		return false, fmt.Errorf("postgres: inspect schema %q: %w", c.Schema, err)
	}
	if vt == nil {
		return false, nil
	}
	v, found, err := readVersion(ctx, pool, c)
	if err != nil {
		return false, err
	}
	if err := checkVersion(c, v, found); err != nil {
		return false, err
	}
	return found && v == SchemaVersion && kv != nil && ks != nil, nil
}

// querier is what readVersion needs from a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readVersion(ctx context.Context, q querier, c Config) (version int, found bool, err error) {
	err = q.QueryRow(ctx, `SELECT version FROM `+qualified(c.Schema, versionTable)).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("postgres: read schema version of %q: %w", c.Schema, err)
	}
	return version, true, nil
}

func checkVersion(c Config, v int, found bool) error {
	if found && v > SchemaVersion {
		return fmt.Errorf("%w: schema %q is at version %d, this weft supports up to version %d; upgrade weft (or point it at another schema)",
			ErrSchemaTooNew, c.Schema, v, SchemaVersion)
	}
	return nil
}

// migrate creates whatever is missing, in one transaction under a
// transaction-scoped advisory lock: concurrent New calls from several
// processes queue here, and the ones that come second find everything done.
// The lock is needed even with IF NOT EXISTS, which is not safe against a
// concurrent creator (it fails with a unique violation in the catalog).
func migrate(ctx context.Context, pool *pgxpool.Pool, c Config) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(c.Schema)); err != nil {
			return fmt.Errorf("postgres: lock schema %q for migration: %w", c.Schema, err)
		}
		vt := qualified(c.Schema, versionTable)
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(c.Schema)+`;
CREATE TABLE IF NOT EXISTS `+vt+` (
	singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
	version    INTEGER NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`); err != nil {
			return fmt.Errorf("postgres: create schema %q: %w", c.Schema, err)
		}
		v, found, err := readVersion(ctx, tx, c)
		if err != nil {
			return err
		}
		if err := checkVersion(c, v, found); err != nil {
			return err
		}
		// Version 1 is the first layout, so there is nothing to upgrade
		// from yet; later layouts add their steps here, keyed on v.
		if _, err := tx.Exec(ctx, ddl(c)); err != nil {
			return fmt.Errorf("postgres: create tables in schema %q: %w", c.Schema, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+vt+` (singleton, version) VALUES (TRUE, $1) ON CONFLICT (singleton) DO NOTHING`, SchemaVersion); err != nil {
			return fmt.Errorf("postgres: record schema version of %q: %w", c.Schema, err)
		}
		return nil
	})
}

// ddl creates the storage tables of layout version 1. COLLATE "C" makes key
// comparison bytewise: faster, and no locale can make two distinct keys
// compare equal.
func ddl(c Config) string {
	kv := qualified(c.Schema, c.KeyValueTable)
	ks := qualified(c.Schema, c.KeySetTable)
	return `CREATE TABLE IF NOT EXISTS ` + kv + ` (
	key        TEXT COLLATE "C" PRIMARY KEY,
	value      BYTEA NOT NULL,
	version    BIGINT NOT NULL,
	expires_at TIMESTAMPTZ NULL,
	updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ` + quoteIdent(indexName(c.KeyValueTable, "expires_at_idx")) + ` ON ` + kv + ` (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ` + ks + ` (
	id     BIGSERIAL PRIMARY KEY,
	key    TEXT COLLATE "C" NOT NULL,
	member BYTEA NOT NULL,
	CONSTRAINT ` + quoteIdent(indexName(c.KeySetTable, "key_member_key")) + ` UNIQUE (key, member)
);
CREATE INDEX IF NOT EXISTS ` + quoteIdent(indexName(c.KeySetTable, "key_id_idx")) + ` ON ` + ks + ` (key, id)`
}

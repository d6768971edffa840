package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/internal/pgsetup"
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
		pgsetup.Qualified(c.Schema, versionTable), pgsetup.Qualified(c.Schema, c.KeyValueTable), pgsetup.Qualified(c.Schema, c.KeySetTable),
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

func readVersion(ctx context.Context, q pgsetup.Querier, c Config) (version int, found bool, err error) {
	err = q.QueryRow(ctx, `SELECT version FROM `+pgsetup.Qualified(c.Schema, versionTable)).Scan(&version)
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

// migrate creates whatever is missing under the schema's advisory lock, so
// concurrent New calls from several processes queue and the later ones find
// everything done (see pgsetup.Migration).
func migrate(ctx context.Context, pool *pgxpool.Pool, c Config) error {
	return pgsetup.Migration{
		Driver:       "postgres",
		Schema:       c.Schema,
		VersionTable: pgsetup.Qualified(c.Schema, versionTable),
		VersionWhere: fmt.Sprintf("of %q", c.Schema),
		Version:      SchemaVersion,
		LockKey:      lockKey(c.Schema),
		ReadVersion: func(ctx context.Context, q pgsetup.Querier) (int, bool, error) {
			return readVersion(ctx, q, c)
		},
		CheckVersion: func(v int, found bool) error { return checkVersion(c, v, found) },
		DDL:          ddl(c),
	}.Run(ctx, pool)
}

// lockKey is the advisory-lock key under which schema migrations run, one
// per schema so unrelated schemas in one database never wait for each
// other.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("weft/storage/postgres schema migration\x00" + schema))
	return int64(h.Sum64())
}

// ddl creates the storage tables of layout version 1. COLLATE "C" makes key
// comparison bytewise: faster, and no locale can make two distinct keys
// compare equal.
func ddl(c Config) string {
	kv := pgsetup.Qualified(c.Schema, c.KeyValueTable)
	ks := pgsetup.Qualified(c.Schema, c.KeySetTable)
	idx := func(table, suffix string) string { return pgsetup.QuoteIdent(pgsetup.IndexName(table, suffix)) }
	return `CREATE TABLE IF NOT EXISTS ` + kv + ` (
	key        TEXT COLLATE "C" PRIMARY KEY,
	value      BYTEA NOT NULL,
	version    BIGINT NOT NULL,
	expires_at TIMESTAMPTZ NULL,
	updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ` + idx(c.KeyValueTable, "expires_at_idx") + ` ON ` + kv + ` (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ` + ks + ` (
	id     BIGSERIAL PRIMARY KEY,
	key    TEXT COLLATE "C" NOT NULL,
	member BYTEA NOT NULL,
	CONSTRAINT ` + idx(c.KeySetTable, "key_member_key") + ` UNIQUE (key, member)
);
CREATE INDEX IF NOT EXISTS ` + idx(c.KeySetTable, "key_id_idx") + ` ON ` + ks + ` (key, id)`
}

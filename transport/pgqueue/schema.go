package pgqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/internal/pgsetup"
)

// SchemaVersion is the table layout this build reads and writes. It goes up
// only with a layout change, which then needs a migration step in migrate.
const SchemaVersion = 1

// ErrSchemaTooNew is returned (wrapped) by New when the tables were migrated
// by a newer weft: writing to a layout this build does not know could
// corrupt them.
var ErrSchemaTooNew = errors.New("pgqueue: schema version is newer than this build supports")

// tables are the quoted, schema-qualified names of one installation.
type tables struct {
	schema string
	// Quoted and qualified, for SQL.
	version, groups, messages, dead, acked string
	// Bare table names, for deriving index names.
	versionRaw, groupsRaw, messagesRaw, deadRaw, ackedRaw string
}

func newTables(schema, prefix string) tables {
	t := tables{
		schema:      schema,
		versionRaw:  prefix + "schema_version",
		groupsRaw:   prefix + "groups",
		messagesRaw: prefix + "messages",
		deadRaw:     prefix + "dead_letters",
		ackedRaw:    prefix + "acked",
	}
	t.version = pgsetup.Qualified(schema, t.versionRaw)
	t.groups = pgsetup.Qualified(schema, t.groupsRaw)
	t.messages = pgsetup.Qualified(schema, t.messagesRaw)
	t.dead = pgsetup.Qualified(schema, t.deadRaw)
	t.acked = pgsetup.Qualified(schema, t.ackedRaw)
	return t
}

// ensureSchema makes the tables usable. When everything is in place it costs
// one query and no DDL (so a role without CREATE privilege works against
// tables a DBA created); otherwise it takes the installation's advisory lock
// and creates what is missing.
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, tb tables, lockKey int64) error {
	ok, err := schemaReady(ctx, pool, tb)
	if err != nil || ok {
		return err
	}
	return migrate(ctx, pool, tb, lockKey)
}

func schemaReady(ctx context.Context, pool *pgxpool.Pool, tb tables) (bool, error) {
	var present int
	err := pool.QueryRow(ctx, `SELECT count(to_regclass(n)) FROM unnest($1::text[]) AS n`,
		[]string{tb.version, tb.groups, tb.messages, tb.dead, tb.acked}).Scan(&present)
	if err != nil {
		return false, fmt.Errorf("pgqueue: inspect schema %q: %w", tb.schema, err)
	}
	if present == 0 {
		return false, nil
	}
	v, found, err := readVersion(ctx, pool, tb)
	if err != nil {
		return false, err
	}
	if err := checkVersion(tb, v, found); err != nil {
		return false, err
	}
	return found && v == SchemaVersion && present == 5, nil
}

func readVersion(ctx context.Context, q pgsetup.Querier, tb tables) (version int, found bool, err error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, tb.version).Scan(&exists); err != nil {
		return 0, false, fmt.Errorf("pgqueue: inspect schema %q: %w", tb.schema, err)
	}
	if !exists {
		return 0, false, nil
	}
	err = q.QueryRow(ctx, `SELECT version FROM `+tb.version).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("pgqueue: read schema version of %s: %w", tb.version, err)
	}
	return version, true, nil
}

func checkVersion(tb tables, v int, found bool) error {
	if found && v > SchemaVersion {
		return fmt.Errorf("%w: %s says version %d, this weft supports up to version %d; upgrade weft (or use another schema or table prefix)",
			ErrSchemaTooNew, tb.version, v, SchemaVersion)
	}
	return nil
}

// migrate creates whatever is missing under the installation's advisory
// lock, so concurrent New calls queue and the later ones find everything
// done (see pgsetup.Migration).
func migrate(ctx context.Context, pool *pgxpool.Pool, tb tables, lockKey int64) error {
	return pgsetup.Migration{
		Driver:       "pgqueue",
		Schema:       tb.schema,
		VersionTable: tb.version,
		VersionWhere: "in " + tb.version,
		Version:      SchemaVersion,
		LockKey:      lockKey,
		ReadVersion: func(ctx context.Context, q pgsetup.Querier) (int, bool, error) {
			return readVersion(ctx, q, tb)
		},
		CheckVersion: func(v int, found bool) error { return checkVersion(tb, v, found) },
		DDL:          ddl(tb),
	}.Run(ctx, pool)
}

// ddl creates the tables of layout version 1 (see the package doc). COLLATE
// "C" compares topics and keys bytewise: faster, and no locale can make two
// distinct keys equal.
func ddl(tb tables) string {
	idx := func(table, suffix string) string { return pgsetup.QuoteIdent(pgsetup.IndexName(table, suffix)) }
	m := tb.messages
	return `CREATE TABLE IF NOT EXISTS ` + tb.groups + ` (
	id         BIGSERIAL PRIMARY KEY,
	topic      TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	keyed      BOOLEAN NOT NULL,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	CONSTRAINT ` + idx(tb.groupsRaw, "topic_name_key") + ` UNIQUE (topic, name)
);
CREATE TABLE IF NOT EXISTS ` + m + ` (
	id           BIGSERIAL PRIMARY KEY,
	group_id     BIGINT NULL,
	topic        TEXT COLLATE "C" NOT NULL,
	pkey         TEXT COLLATE "C" NOT NULL DEFAULT '',
	body         BYTEA NOT NULL,
	ready_at     TIMESTAMPTZ NOT NULL,
	visible_at   TIMESTAMPTZ NOT NULL,
	attempt      INTEGER NOT NULL DEFAULT 0,
	claim        BIGINT NULL,
	published_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ` + idx(tb.messagesRaw, "visible_idx") + ` ON ` + m + ` (group_id, visible_at, id) WHERE group_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ` + idx(tb.messagesRaw, "key_idx") + ` ON ` + m + ` (group_id, pkey, ready_at, id) WHERE pkey <> '';
CREATE INDEX IF NOT EXISTS ` + idx(tb.messagesRaw, "parked_idx") + ` ON ` + m + ` (group_id, pkey, ready_at, id) WHERE visible_at = 'infinity';
CREATE INDEX IF NOT EXISTS ` + idx(tb.messagesRaw, "busy_idx") + ` ON ` + m + ` (group_id, pkey) WHERE attempt > 0 AND pkey <> '';
CREATE INDEX IF NOT EXISTS ` + idx(tb.messagesRaw, "retained_idx") + ` ON ` + m + ` (topic, id) WHERE group_id IS NULL;
CREATE INDEX IF NOT EXISTS ` + idx(tb.messagesRaw, "claim_idx") + ` ON ` + m + ` (claim) WHERE claim IS NOT NULL;
CREATE TABLE IF NOT EXISTS ` + tb.dead + ` (
	id           BIGSERIAL PRIMARY KEY,
	topic        TEXT COLLATE "C" NOT NULL,
	group_name   TEXT COLLATE "C" NOT NULL,
	pkey         TEXT COLLATE "C" NOT NULL,
	body         BYTEA NOT NULL,
	reason       TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	published_at TIMESTAMPTZ NOT NULL,
	dead_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ` + idx(tb.deadRaw, "dead_at_idx") + ` ON ` + tb.dead + ` (dead_at);
CREATE TABLE IF NOT EXISTS ` + tb.acked + ` (
	id           BIGINT PRIMARY KEY,
	group_id     BIGINT NOT NULL,
	topic        TEXT COLLATE "C" NOT NULL,
	pkey         TEXT COLLATE "C" NOT NULL,
	body         BYTEA NOT NULL,
	attempts     INTEGER NOT NULL,
	published_at TIMESTAMPTZ NOT NULL,
	acked_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ` + idx(tb.ackedRaw, "acked_at_idx") + ` ON ` + tb.acked + ` (acked_at)`
}

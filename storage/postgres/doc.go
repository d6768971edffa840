// Package postgres is the PostgreSQL storage driver: one Store that is both
// a storage.KeyValue and a storage.KeySet, built on pgx's connection pool.
//
// # Tables
//
// New creates, if missing, the schema (default "weft") and three tables in
// it, under a transaction-scoped advisory lock so several processes can start
// at once against an empty database:
//
//	key_value_storage    key TEXT PRIMARY KEY, value BYTEA, version BIGINT,
//	                     expires_at TIMESTAMPTZ NULL, updated_at TIMESTAMPTZ
//	key_set_storage      id BIGSERIAL PRIMARY KEY, key TEXT, member BYTEA,
//	                     UNIQUE (key, member), index on (key, id)
//	weft_schema_version  one row: the layout version of this schema
//
// The two storage table names are configurable. All identifiers are quoted
// in SQL, so they are case-sensitive; Config.Validate only accepts
// [A-Za-z_][A-Za-z0-9_]{0,62}, which is what makes the quoting safe. A schema
// whose recorded version is newer than this build knows is refused, so an old
// binary never writes into a layout it does not understand. When the schema
// is already complete New issues no DDL at all, so a database role without
// CREATE privileges works against tables a DBA created.
//
// # Versions and expiry
//
// Every write is one statement that checks the expected version and writes
// in the same step (INSERT ... ON CONFLICT ... WHERE, UPDATE ... WHERE
// version = $n, DELETE ... WHERE version = $n), so no read-then-write race
// exists and no explicit transaction is needed outside PutMany. Expiry uses
// the server's clock (now()), never the client's, so clients with skewed
// clocks agree on what has expired. An expired row reads as absent, counts as
// version 0 for writes, is overwritten in place by a Put with expected 0, and
// is otherwise reclaimed by a background sweeper (see DeleteExpired).
//
// PutMany runs in one transaction that takes the rows (or, for absent keys,
// the unique-index slots) in key order, so concurrent batches serialize on
// the keys they share and cannot deadlock each other; serialization failures
// and deadlocks (40001, 40P01) are retried with backoff anyway, as are errors
// pgx reports as raised before anything reached the server.
//
// # Key sets
//
// Each member is a row with an increasing id; a page is
// "WHERE key = $1 AND id > cursor ORDER BY id LIMIT n", and the cursor is the
// last id returned. Removals never move other rows, so a member present for
// the whole paging is returned exactly once. A member's size is limited by
// the unique index (about 2.6 KB for key and member together).
//
// # Limits
//
// Keys are PostgreSQL TEXT: valid UTF-8 without NUL bytes (checked before
// anything is sent), up to about 2.6 KB because they are indexed. Values are
// BYTEA, binary-safe and tested at several MiB. The driver uses pgx's
// prepared-statement cache, so put it behind PgBouncer only in session
// pooling mode. Connections identify as application_name "weft" unless the
// URL names another.
package postgres

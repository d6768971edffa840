package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// schemaVersion is the table layout this build reads and writes. A table
// recorded with a higher version was laid out by a newer weft, which may
// store things this one would misread, so New refuses it.
const schemaVersion = 1

// schemaLockWait bounds how long New waits for another process that is
// creating or migrating the same database.
const schemaLockWait = 30 * time.Second

// Table kinds as recorded in the version table, so one table cannot be
// configured as both stores by two processes.
const (
	kindKeyValue = "key_value"
	kindKeySet   = "key_set"
)

// migrate brings the database to schemaVersion. It holds a named server
// lock on one connection while it works: the DDL is idempotent anyway, but
// the lock keeps a future multi-step migration from running twice at once.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mysql: schema: %w", err)
	}
	defer conn.Close()

	lock := schemaLockName(s.cfg.Database)
	var got sql.NullInt64
	err = conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lock, int(schemaLockWait/time.Second)).Scan(&got)
	if err != nil {
		return fmt.Errorf("mysql: schema: take lock %s: %w", lock, err)
	}
	if got.Int64 != 1 {
		return fmt.Errorf("mysql: schema: lock %s still held by another process after %v", lock, schemaLockWait)
	}
	defer func() {
		// A cancelled ctx has already killed the connection, which frees
		// the lock on the server; otherwise release it before the
		// connection goes back to the pool.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", lock)
	}()

	for _, ddl := range []string{schemaVersionDDL, s.sql.createKeyValue, s.sql.createKeySet} {
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("mysql: schema: create tables in %s: %w", s.cfg.Database, err)
		}
	}
	for _, t := range []struct{ table, kind, probe string }{
		{s.cfg.KeyValueTable, kindKeyValue, s.sql.probeKeyValue},
		{s.cfg.KeySetTable, kindKeySet, s.sql.probeKeySet},
	} {
		if err := s.checkTable(ctx, conn, t.table, t.kind, t.probe); err != nil {
			return err
		}
	}
	return nil
}

// checkTable verifies one table's recorded version and kind, probes its
// columns, and records version and kind if the table is new. The probe is
// there because CREATE TABLE IF NOT EXISTS silently keeps a foreign table of
// the same name (Infinitic uses the same default names), and writing into
// one would corrupt both programs' data.
func (s *Store) checkTable(ctx context.Context, conn *sql.Conn, table, kind, probe string) error {
	where := s.cfg.Database + "." + table
	var gotKind string
	var gotVersion int
	err := conn.QueryRowContext(ctx,
		"SELECT kind, version FROM "+quote(schemaVersionTable)+" WHERE table_name = ?", table).Scan(&gotKind, &gotVersion)
	recorded := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("mysql: schema: read version of %s: %w", where, err)
	case gotVersion > schemaVersion:
		// Checked before the probe: a newer layout may lack columns this
		// build expects, and "upgrade weft" is the useful message then.
		return fmt.Errorf("mysql: schema: table %s has schema version %d, newer than the %d this weft supports: upgrade weft",
			where, gotVersion, schemaVersion)
	case gotKind != kind:
		return fmt.Errorf("mysql: schema: table %s holds a %s store, not a %s store: configure another table name",
			where, gotKind, kind)
	}
	rows, err := conn.QueryContext(ctx, probe)
	if err == nil {
		err = rows.Close()
	}
	if isServerError(err, erBadField) {
		return fmt.Errorf("mysql: schema: table %s exists but is not a weft %s table (%v): configure another table name",
			where, kind, err)
	}
	if err != nil {
		return fmt.Errorf("mysql: schema: probe %s: %w", where, err)
	}
	if recorded {
		return nil
	}
	_, err = conn.ExecContext(ctx,
		"INSERT INTO "+quote(schemaVersionTable)+" (table_name, kind, version, updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
		table, kind, schemaVersion)
	if err != nil {
		return fmt.Errorf("mysql: schema: record version of %s: %w", where, err)
	}
	return nil
}

// schemaLockName derives the GET_LOCK name from the database: lock names are
// server-wide and limited to 64 characters, database names are not short.
func schemaLockName(database string) string {
	h := sha256.Sum256([]byte(database))
	return "weft_schema_" + hex.EncodeToString(h[:16])
}

// schemaVersionDDL keeps one row per weft table of the database. Names are
// ASCII by validation and case-sensitive like the tables on Linux.
const schemaVersionDDL = "CREATE TABLE IF NOT EXISTS " + "`" + schemaVersionTable + "`" + ` (
	table_name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	kind       VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	version    INT         NOT NULL,
	updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
	PRIMARY KEY (table_name)
) ENGINE=InnoDB`

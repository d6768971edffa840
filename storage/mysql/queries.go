package mysql

import "strings"

// queries is every statement of the store, built once per Store because
// table names cannot be placeholders. Statements ending in "IN (%s)" get
// their placeholder list from inList.
type queries struct {
	createKeyValue, createKeySet string
	probeKeyValue, probeKeySet   string

	kvGet     string // key_hash, k → v, version
	kvGetMany string // IN (%s) of key_hash → key_hash, k, v, version
	kvLock    string // IN (%s) of key_hash → key_hash, k, version, live
	kvInsert  string // key_hash, k, v, ttl µs
	kvUpdate  string // k, v, version, ttl µs, key_hash
	kvDelete  string // key_hash

	kvExpired      string // limit → key_hash
	kvDeleteExpire string // IN (%s) of key_hash

	ksAdd    string // key_hash, k, member_hash, member
	ksRemove string // key_hash, k, member_hash, member
	ksPage   string // key_hash, k, after id, limit → id, member
}

// live is the condition for a row that has not expired. Every reader and
// writer compares against the server's clock, never the client's, so
// clients with skewed clocks still agree on what has expired.
const live = "(expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6))"

// expiresAt computes the deadline from a TTL in microseconds; a NULL TTL
// gives NULL, which means "never expires".
const expiresAt = "UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND"

func newQueries(c Config) queries {
	kv, ks := quote(c.KeyValueTable), quote(c.KeySetTable)
	return queries{
		// key_hash (SHA-256 of k) is the primary key because keys may be
		// longer than an index entry can be; k is kept whole and compared
		// on every read, so lookups stay exact.
		createKeyValue: "CREATE TABLE IF NOT EXISTS " + kv + ` (
	key_hash   BINARY(32)      NOT NULL COMMENT 'SHA-256 of k',
	k          VARBINARY(3072) NOT NULL,
	v          LONGBLOB        NOT NULL,
	version    BIGINT UNSIGNED NOT NULL,
	expires_at DATETIME(6)     NULL COMMENT 'UTC; NULL: never',
	updated_at DATETIME(6)     NOT NULL COMMENT 'UTC',
	PRIMARY KEY (key_hash),
	KEY expires_at (expires_at)
) ENGINE=InnoDB`,
		// id orders members for paging; (key_hash, member_hash) makes Add
		// idempotent without comparing whole members in an index.
		createKeySet: "CREATE TABLE IF NOT EXISTS " + ks + ` (
	id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	key_hash    BINARY(32)      NOT NULL COMMENT 'SHA-256 of k',
	k           VARBINARY(3072) NOT NULL,
	member_hash BINARY(32)      NOT NULL COMMENT 'SHA-256 of member',
	member      LONGBLOB        NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY key_member (key_hash, member_hash),
	KEY key_id (key_hash, id)
) ENGINE=InnoDB`,
		probeKeyValue: "SELECT key_hash, k, v, version, expires_at, updated_at FROM " + kv + " LIMIT 0",
		probeKeySet:   "SELECT id, key_hash, k, member_hash, member FROM " + ks + " LIMIT 0",

		kvGet:     "SELECT v, version FROM " + kv + " WHERE key_hash = ? AND k = ? AND " + live,
		kvGetMany: "SELECT key_hash, k, v, version FROM " + kv + " WHERE key_hash IN (%s) AND " + live,
		// Expired rows are locked too: a write turns them into version 1.
		kvLock: "SELECT key_hash, k, version, " + live + " FROM " + kv +
			" WHERE key_hash IN (%s) ORDER BY key_hash FOR UPDATE",
		kvInsert: "INSERT INTO " + kv + " (key_hash, k, v, version, expires_at, updated_at)" +
			" VALUES (?, ?, ?, 1, " + expiresAt + ", UTC_TIMESTAMP(6))",
		kvUpdate: "UPDATE " + kv + " SET k = ?, v = ?, version = ?, expires_at = " + expiresAt +
			", updated_at = UTC_TIMESTAMP(6) WHERE key_hash = ?",
		kvDelete: "DELETE FROM " + kv + " WHERE key_hash = ?",

		kvExpired: "SELECT key_hash FROM " + kv +
			" WHERE expires_at <= UTC_TIMESTAMP(6) ORDER BY expires_at LIMIT ?",
		// Re-checks expiry: a row rewritten since the SELECT is kept.
		kvDeleteExpire: "DELETE FROM " + kv + " WHERE key_hash IN (%s) AND expires_at <= UTC_TIMESTAMP(6)",

		// Not INSERT IGNORE: that would also turn real errors (a value
		// too long for a column) into warnings and truncated data.
		ksAdd: "INSERT INTO " + ks + " (key_hash, k, member_hash, member) VALUES (?, ?, ?, ?)" +
			" ON DUPLICATE KEY UPDATE id = id",
		ksRemove: "DELETE FROM " + ks + " WHERE key_hash = ? AND k = ? AND member_hash = ? AND member = ?",
		ksPage: "SELECT id, member FROM " + ks +
			" WHERE key_hash = ? AND k = ? AND id > ? ORDER BY id LIMIT ?",
	}
}

// inList returns n comma-separated placeholders.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Package mysql is the MySQL / MariaDB storage driver: one Store that is
// both a storage.KeyValue and a storage.KeySet, each in its own table of one
// database. It is tested on MariaDB 10.11 and written for MySQL 8 as well
// (only syntax both accept).
//
// # Schema
//
// New creates the database and both tables if they are missing, and records
// their layout in weft_schema_version (one row per table, version 1). A
// table recorded with a newer version is refused, as is a table of the
// configured name that lacks weft's columns (Infinitic's tables share the
// default names). Creation is idempotent and runs under GET_LOCK, so
// processes may start together.
//
// Keys are stored whole in a VARBINARY(3072) column (any bytes, compared
// exactly) and indexed by their SHA-256 in a BINARY(32) primary key, which
// keeps the index small whatever the key length. Values and members are
// LONGBLOBs. Set members have an AUTO_INCREMENT id; pages are
// "id > cursor ORDER BY id", so paging is stable under concurrent removals.
//
// # Versions and transactions
//
// Every write (Put, Delete, PutMany) is one READ COMMITTED transaction:
// SELECT ... FOR UPDATE of the rows in key-hash order, a check of every
// expected version, then INSERT, UPDATE or DELETE per key. Locking in one
// global order keeps concurrent batches from deadlocking on each other; a
// deadlock or lock wait timeout that happens anyway is retried a few times
// with backoff. A duplicate key on INSERT means another writer created the
// key first, which is a version conflict.
//
// # Time
//
// Expiry uses the server's clock only (UTC_TIMESTAMP(6), stored in
// DATETIME(6) columns as UTC), never the client's, so processes with skewed
// clocks agree. An expired row reads as absent at once and counts as
// version 0 for writes; a background sweeper deletes expired rows once a
// minute, and a write to the key reuses its row.
//
// # Limits
//
// New reads the server's max_allowed_packet; a value or member that would
// not fit is refused with ErrTooLarge before anything is sent (the server
// would otherwise drop the connection). MariaDB defaults to 16 MiB, MySQL 8
// to 64 MiB.
package mysql

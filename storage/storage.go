// Package storage defines the two storage seams of weft, key-value with
// versions and key-set, and the decorators that wrap any driver.
//
// Drivers live in sub-packages (memory, and later redis, postgres, mysql) and
// must all pass the conformance suite in storagetest.
package storage

import (
	"context"
	"errors"
	"time"
)

// ErrVersionConflict is returned by versioned writes whose expected version
// does not match the stored one. The caller reloads and retries.
var ErrVersionConflict = errors.New("storage: version conflict")

// ErrClosed is returned by every operation on a closed store.
var ErrClosed = errors.New("storage: closed")

// Limited is implemented by stores that know the largest value they
// accept, so a writer can keep below it rather than find out by failing.
type Limited interface {
	// MaxValueSize is the largest value Put accepts, in bytes.
	MaxValueSize() int
}

// MaxValueSize returns kv's limit when it declares one, else 0 (unknown).
func MaxValueSize(kv KeyValue) int {
	if l, ok := kv.(Limited); ok {
		return l.MaxValueSize()
	}
	return 0
}

// ErrTooLarge is returned (wrapped, with the sizes) by a write of a value
// or member over what the server accepts. It is permanent: writing the
// same value again cannot succeed.
var ErrTooLarge = errors.New("storage: value too large")

// KeyValue stores byte values under string keys, each with a version.
//
// Version 0 means "absent". The first successful write of a key gives it
// version 1 and every later write adds one. Implementations are safe for
// concurrent use; operations honour ctx cancellation.
type KeyValue interface {
	// Get returns the value and version of key, or (nil, 0, nil) when absent
	// or expired.
	Get(ctx context.Context, key string) (value []byte, version uint64, err error)
	// Put writes value if the stored version equals expected (0: only if
	// absent) and returns the new version. A mismatch returns
	// ErrVersionConflict and changes nothing. A ttl > 0 makes the key expire
	// after that duration; ttl <= 0 keeps it for ever.
	Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error)
	// Delete removes key if the stored version equals expected. Deleting an
	// absent key with expected 0 succeeds.
	Delete(ctx context.Context, key string, expected uint64) error
	// GetMany reads several keys; entries are in the order of keys, absent
	// ones with version 0. It is not a snapshot across keys.
	GetMany(ctx context.Context, keys []string) ([]Entry, error)
	// PutMany applies every write or none: if any expected version does not
	// match, it returns ErrVersionConflict and changes nothing. It returns
	// the new version of each key (0 for deletes). Keys must be distinct.
	PutMany(ctx context.Context, writes []Write) ([]uint64, error)
	// Close releases resources; later calls return ErrClosed.
	Close() error
}

// Entry is a value and its version (0: absent).
type Entry struct {
	Value   []byte
	Version uint64
}

// Write is one versioned write of a PutMany batch. A nil Value deletes the
// key; TTL is as for Put.
type Write struct {
	Key      string
	Value    []byte
	Expected uint64
	TTL      time.Duration
}

// KeySet stores sets of byte members under string keys.
type KeySet interface {
	// Add inserts member into the set at key (no-op if present).
	Add(ctx context.Context, key string, member []byte) error
	// Remove deletes member from the set at key (no-op if absent).
	Remove(ctx context.Context, key string, member []byte) error
	// Page returns up to limit members after cursor ("" = from the start)
	// and the cursor of the next page ("" = no more pages). Every member
	// present for the whole paging is returned exactly once.
	Page(ctx context.Context, key string, cursor string, limit int) (members [][]byte, next string, err error)
	// Close releases resources; later calls return ErrClosed.
	Close() error
}

// TxHook runs inside the transaction of a versioned write. tx is the
// driver's own transaction handle (a pgx.Tx for the PostgreSQL driver); a
// hook that cannot use it returns an error, which rolls the write back.
type TxHook func(ctx context.Context, tx any) error

// TxKeyValue is implemented by drivers that can make other writes commit
// or roll back together with a versioned Put: a transport keeping its
// messages in the same database enlists the messages a state write
// produces, so both are durable or neither is.
type TxKeyValue interface {
	KeyValue
	// PutTx is Put with hook run in the same transaction once the write
	// has succeeded. A version mismatch returns ErrVersionConflict without
	// running hook; an error from hook is returned and nothing is written.
	PutTx(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook TxHook) (uint64, error)
	// PutManyTx is PutMany with hook run in the same transaction once
	// every write has succeeded, as for PutTx.
	PutManyTx(ctx context.Context, writes []Write, hook TxHook) ([]uint64, error)
	// TxDomain names the database the transactions run in (e.g.
	// "postgres://host:port/db"), so a caller can check a transport shares it.
	TxDomain() string
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/internal/pgsetup"
	"github.com/weftio/weft/storage"
)

var _ storage.TxKeyValue = (*Store)(nil)

// hookError carries an error of a TxHook through the retry loop, which must
// not retry it as if it were the database's.
type hookError struct{ err error }

func (e *hookError) Error() string { return e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }

// PutTx implements storage.TxKeyValue: the versioned write and hook run in
// one READ COMMITTED transaction; hook receives the pgx.Tx. A version
// mismatch rolls back without calling hook.
func (s *Store) PutTx(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook storage.TxHook) (uint64, error) {
	if hook == nil {
		return s.Put(ctx, key, value, expected, ttl)
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if expected > math.MaxInt64 {
		return 0, storage.ErrVersionConflict
	}
	value = nonNil(value)
	var version int64
	err := s.retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			var err error
			if expected == 0 {
				err = tx.QueryRow(ctx, s.q.insert, key, value, ttlMicros(ttl)).Scan(&version)
			} else {
				err = tx.QueryRow(ctx, s.q.update, key, value, ttlMicros(ttl), int64(expected)).Scan(&version)
			}
			if err != nil {
				return err
			}
			if err := hook(ctx, tx); err != nil {
				return &hookError{err}
			}
			return nil
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, storage.ErrVersionConflict
	}
	var he *hookError
	if errors.As(err, &he) {
		return 0, fmt.Errorf("postgres: put %s: in the same transaction: %w", quoteKey(key), he.err)
	}
	if err != nil {
		return 0, s.fail(ctx, "put", key, err)
	}
	return uint64(version), nil
}

// TxDomain implements storage.TxKeyValue: "postgres://host:port/database"
// of the server the pool connects to.
func (s *Store) TxDomain() string {
	cc := s.pool.Config().ConnConfig
	return TxDomain(cc.Host, int(cc.Port), cc.Database)
}

// TxDomain is the normalised name of a PostgreSQL database that
// transactional peers compare: lower-case host, explicit port, database.
func TxDomain(host string, port int, database string) string {
	return pgsetup.TxDomain(host, port, database)
}

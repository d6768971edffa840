package postgres

import (
	"context"
	"time"

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
	return s.put(ctx, key, value, expected, ttl, hook)
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

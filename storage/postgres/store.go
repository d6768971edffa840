package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/storage"
)

var (
	_ storage.KeyValue = (*Store)(nil)
	_ storage.KeySet   = (*Store)(nil)
)

// Store is a PostgreSQL storage.KeyValue and storage.KeySet over one
// connection pool. It is safe for concurrent use. Close it to release the
// pool.
type Store struct {
	pool   *pgxpool.Pool
	q      queries
	closed atomic.Bool

	stopSweep context.CancelFunc
	sweepDone chan struct{}
}

// New validates cfg, connects (each connection attempt bounded by
// cfg.ConnectTimeout), and creates the schema and tables if they are
// missing. ctx bounds the whole setup, including waiting for another process
// that is creating the same schema.
//
// An unreachable server gives an error naming host:port; rejected
// credentials give "password authentication failed for user ..."; a schema
// written by a newer weft gives an error wrapping ErrSchemaTooNew.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, extra, _ := cfg.resolve() // the URL parsed in Validate
	pool, err := driver.Open(ctx, cfg.settings(), extra)
	if err != nil {
		return nil, err
	}
	if err := ensureSchema(ctx, pool, cfg); err != nil {
		pool.Close()
		return nil, err
	}
	sweepCtx, stop := context.WithCancel(context.Background())
	s := &Store{
		pool:      pool,
		q:         newQueries(cfg),
		stopSweep: stop,
		sweepDone: make(chan struct{}),
	}
	go s.sweepLoop(sweepCtx)
	return s, nil
}

// Close stops the expiry sweeper and closes the pool, waiting for
// operations in flight to finish. Later operations return storage.ErrClosed;
// a second Close returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopSweep()
	<-s.sweepDone
	s.pool.Close()
	return nil
}

// check is the entry test of every operation: a dead context wins over a
// closed store so callers see why their own call stopped.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return nil
}

// fail wraps an operation's error. A store closed under the operation
// reports ErrClosed (pgx's "closed pool" means nothing to callers), and a
// context that ended reports the context's error, so errors.Is works for
// both whatever pgx wrapped on the way.
func (s *Store) fail(ctx context.Context, op, key string, err error) error {
	switch {
	case errors.Is(err, storage.ErrVersionConflict), errors.Is(err, storage.ErrClosed):
		return err
	case s.closed.Load():
		return storage.ErrClosed
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("postgres: %s %s: %w (%v)", op, quoteKey(key), ctx.Err(), err)
	}
	return fmt.Errorf("postgres: %s %s: %w", op, quoteKey(key), err)
}

// checkKey rejects keys PostgreSQL TEXT cannot hold, before anything is
// sent, with an error that says why (the server's would be about encodings).
func checkKey(key string) error {
	if !utf8.ValidString(key) {
		return fmt.Errorf("postgres: key %s is not valid UTF-8", quoteKey(key))
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("postgres: key %s contains a NUL byte", quoteKey(key))
	}
	return nil
}

// quoteKey renders a key for an error message, shortened so a long key does
// not drown the message.
func quoteKey(key string) string {
	const max = 80
	if len(key) > max {
		return fmt.Sprintf("%q...(%d bytes)", key[:max], len(key))
	}
	return fmt.Sprintf("%q", key)
}

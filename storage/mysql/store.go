package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/storage"
)

var (
	_ storage.KeyValue = (*Store)(nil)
	_ storage.KeySet   = (*Store)(nil)
)

// Store is a storage.KeyValue and a storage.KeySet in one MySQL or MariaDB
// database, sharing one connection pool. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	cfg Config // effective: URL applied, defaults filled in
	log *slog.Logger
	sql queries

	// maxValue is the largest value or member that fits the server's
	// max_allowed_packet with room for the rest of the statement.
	maxValue int

	closed    atomic.Bool
	stopSweep context.CancelFunc
	swept     chan struct{} // closed when the sweeper has stopped
}

// Option configures New beyond what Config (which comes from files and the
// environment) holds.
type Option func(*options)

type options struct {
	log           *slog.Logger
	sweepInterval time.Duration
}

// WithLogger sets where the store reports what it cannot return as an
// error: failed background sweeps and the driver's connection warnings. The
// default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// New validates cfg, connects (bounded by cfg.ConnectTimeout as well as
// ctx), creates the database and tables if missing, and checks the schema
// version. Several processes may call New on the same database at once.
func New(ctx context.Context, cfg Config, opts ...Option) (*Store, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	o := options{log: slog.New(slog.DiscardHandler), sweepInterval: defaultSweepInterval}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	mc, err := driverConfig(c, o.log)
	if err != nil {
		return nil, err
	}
	db, err := connect(ctx, c, mc)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, cfg: c, log: o.log, sql: newQueries(c)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.readLimits(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.startSweeper(o.sweepInterval)
	return s, nil
}

// Config returns the effective configuration (URL applied, defaults filled
// in). Its String method masks the password.
func (s *Store) Config() Config { return s.cfg }

// Close stops the background sweeper and closes the pool, waiting for
// statements already running. Later calls return storage.ErrClosed; a second
// Close returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopSweep()
	<-s.swept
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("mysql: close: %w", err)
	}
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

// readLimits learns the server's max_allowed_packet. Sending more than that
// makes the server drop the connection mid-statement, which the caller
// would see as a vague "invalid connection"; knowing it lets writes fail
// early with ErrTooLarge instead.
func (s *Store) readLimits(ctx context.Context) error {
	var packet int
	if err := s.db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		return fmt.Errorf("mysql: read max_allowed_packet: %w", err)
	}
	s.maxValue = packet - statementOverhead
	if s.maxValue < minValueLimit {
		return fmt.Errorf("mysql: server max_allowed_packet is %d bytes; weft needs at least %d (set max_allowed_packet=64M in the server configuration)",
			packet, minValueLimit+statementOverhead)
	}
	return nil
}

// statementOverhead is room for everything in a write statement besides the
// value: the key (at most maxKeyLen), hashes, numbers and protocol framing.
const statementOverhead = 16 << 10

// minValueLimit refuses servers that could not even hold a 1 MiB value:
// such a limit is a misconfiguration better reported at startup.
const minValueLimit = 1 << 20

// MaxValueSize implements storage.Limited: what fits the server's
// max_allowed_packet read at New.
func (s *Store) MaxValueSize() int { return s.maxValue }

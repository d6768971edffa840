package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftio/weft/internal/pgsetup"
	"github.com/weftio/weft/transport"
)

var (
	_ transport.Transport   = (*Transport)(nil)
	_ transport.TxPublisher = (*Transport)(nil)
)

// driver connects the way every PostgreSQL driver of weft does (see
// pgsetup).
var driver = pgsetup.Driver{Name: "pgqueue", AppName: "weft pgqueue"}

// closeGrace is how long Close lets running database calls finish before it
// cancels them.
const closeGrace = 5 * time.Second

// Transport is the PostgreSQL transport. It is safe for concurrent use;
// Close it to stop its listener and release its pool.
type Transport struct {
	cfg      Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	ownsPool bool
	tb       tables
	q        queries
	seed     int64  // hashes advisory-lock names of this installation
	channel  string // NOTIFY channel of this installation
	domain   string
	signals  *signals
	listener *listener // nil in PollingOnly mode
	leases   *leases   // held deliveries, whose claims are renewed

	// stopLeases stops the renewal of claims and waits for it; Close
	// stops it along with everything else, tests alone (see lease.go).
	stopLeases func()

	// ctx ends when Close has finished with the database (or gave up
	// waiting); calls not bound to a caller's context use it.
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{} // closed when Close starts: wakes every waiter
	closeOnce sync.Once
	ops       gate // Publish and Subscribe in progress
	bg        sync.WaitGroup

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	groups map[string]groupInfo // by topic + "\x00" + name
}

// New validates cfg, connects (each attempt bounded by cfg.ConnectTimeout),
// creates the schema and tables if they are missing, and starts the listener
// (unless cfg.Mode is PollingOnly), the renewal of held claims and the
// cleanup of retained rows. ctx bounds the setup only.
//
// An unreachable server gives an error naming host:port; rejected
// credentials give "password authentication failed for user ..."; tables
// written by a newer weft give an error wrapping ErrSchemaTooNew.
func New(ctx context.Context, cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, extra, _ := cfg.resolve()
	pool, err := driver.Open(ctx, cfg.settings(), extra)
	if err != nil {
		return nil, err
	}
	t, err := start(ctx, cfg, pool, true)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return t, nil
}

// Open is New for a URL alone (see ParseURL for its parameters).
func Open(ctx context.Context, url string) (*Transport, error) {
	return New(ctx, Config{Server: Server{URL: url}})
}

// NewFromPool uses an existing pool, for instance the one the application
// already has for the same database. The connection settings of cfg (URL,
// host, credentials, pool sizes, TLS) are ignored; the listener opens its
// own connection with the pool's connection settings. Close leaves the pool
// open.
func NewFromPool(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Transport, error) {
	if pool == nil {
		return nil, errors.New("pgqueue: NewFromPool: nil pool")
	}
	cc := pool.Config().ConnConfig
	cfg.URL, cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = "", cc.Host, int(cc.Port), cc.User, "", cc.Database
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, _, _ = cfg.resolve()
	return start(ctx, cfg, pool, false)
}

func start(ctx context.Context, cfg Config, pool *pgxpool.Pool, ownsPool bool) (*Transport, error) {
	tb := newTables(cfg.Schema, cfg.TablePrefix)
	hash := installationHash(cfg.Schema, cfg.TablePrefix)
	if err := ensureSchemaRetrying(ctx, pool, tb, int64(hash)); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc := pool.Config().ConnConfig
	t := &Transport{
		cfg:      cfg,
		log:      logger,
		pool:     pool,
		ownsPool: ownsPool,
		tb:       tb,
		q:        newQueries(tb, cfg.Retention > 0),
		seed:     int64(hash >> 1),
		channel:  channelName(cfg.Schema, cfg.TablePrefix),
		domain:   TxDomain(cc.Host, int(cc.Port), cc.Database),
		signals:  newSignals(),
		leases:   newLeases(),
		done:     make(chan struct{}),
		subs:     map[*subscription]struct{}{},
		groups:   map[string]groupInfo{},
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if cfg.Mode != PollingOnly {
		lc := cc.Copy()
		lc.RuntimeParams["application_name"] = "weft pgqueue listener"
		// A statement timeout means nothing to a connection that waits.
		delete(lc.RuntimeParams, "statement_timeout")
		t.listener = &listener{
			conn:        lc,
			channel:     t.channel,
			log:         logger,
			notified:    t.signals.wakeTopic,
			reconnected: t.signals.wakeAll,
		}
		t.bg.Go(func() { t.listener.run(t.ctx) })
	}
	t.startLeases()
	t.bg.Go(t.cleanupLoop)
	return t, nil
}

// ensureSchemaRetrying tolerates one race it cannot lock out: another
// driver (e.g. storage/postgres) creating the same schema at the same
// moment under a lock of its own.
func ensureSchemaRetrying(ctx context.Context, pool *pgxpool.Pool, tb tables, lockKey int64) error {
	err := ensureSchema(ctx, pool, tb, lockKey)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P06") {
		err = ensureSchema(ctx, pool, tb, lockKey)
	}
	return err
}

// Capabilities: per-key order, delay, dead-lettering and durability.
func (t *Transport) Capabilities() transport.Capabilities {
	return transport.Capabilities{
		KeyedOrder:     true,
		Delay:          true,
		DeadLetter:     true,
		Durable:        true,
		MaxMessageSize: t.cfg.MaxMessageSize,
	}
}

// TxDomain implements transport.TxPublisher: "postgres://host:port/database"
// of the server the pool connects to, in the form storage/postgres uses.
func (t *Transport) TxDomain() string { return t.domain }

// TxDomain is the normalised name of a PostgreSQL database that
// transactional peers compare: lower-case host, explicit port, database; no
// user, password or parameters.
func TxDomain(host string, port int, database string) string {
	return pgsetup.TxDomain(host, port, database)
}

// Close stops every subscription, hands their unsettled messages back to the
// queue at once, stops the listener, the renewal of claims and the cleanup,
// and closes the pool if
// New opened it. Messages stay in the database. Later calls return
// transport.ErrClosed from the other methods; a second Close returns nil.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.done)
		t.waitIdle(t.ops.close())
		t.mu.Lock()
		subs := make([]*subscription, 0, len(t.subs))
		for s := range t.subs {
			subs = append(subs, s)
		}
		t.mu.Unlock()
		var errs []error
		for _, s := range subs {
			errs = append(errs, s.Close())
		}
		t.cancel()
		t.bg.Wait()
		if t.ownsPool {
			t.pool.Close()
		}
		err = errors.Join(errs...)
	})
	return err
}

// waitIdle waits for running operations, cancelling them after closeGrace.
func (t *Transport) waitIdle(idle <-chan struct{}) {
	timer := time.NewTimer(closeGrace)
	defer timer.Stop()
	select {
	case <-idle:
	case <-timer.C:
		t.log.Warn("pgqueue: close: database calls still running; cancelling them", "after", closeGrace)
		t.cancel()
		<-idle
	}
}

func (t *Transport) closing() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// bind derives a context for one database call on behalf of a caller: it
// ends with the caller's context or when Close gives up waiting.
func (t *Transport) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// fail wraps a database error of operation op. A transport closed under
// the call reports ErrClosed, and a caller's context that ended reports the
// context's error, so errors.Is works whatever pgx wrapped on the way.
func (t *Transport) fail(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(err, transport.ErrClosed), errors.Is(err, ErrClaimLost):
		return err
	case t.closing() && (t.ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, pgx.ErrTxClosed)):
		return transport.ErrClosed
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("pgqueue: %s: %w (%v)", op, ctx.Err(), err)
	}
	return fmt.Errorf("pgqueue: %s: %w", op, err)
}
